"""MovingShapes: the embedded dataset, generated in memory (no files, no downloads).

Each clip shows one coloured shape (circle, square, triangle) sliding in a straight line
(left, right, up, down) over a plain background, captioned "a red circle moving left". With
``wrap=True`` the frame is a torus (a shape leaving one edge re-enters at the opposite one), and
``start='window'`` cuts clips at random offsets of an endless trajectory, as real video datasets
are sampled, so a model learns to continue a clip from wherever the last one ended. Every
clip is a pure function of (seed, index), so the dataset is deterministic and needs no storage.
Some colour x shape x direction combinations are held out of the training split: a model that
generates them has composed attributes it never saw together. ``attributes(idx)`` gives the
ground truth an in-domain evaluator compares with what
``vidrd.datasets.moving_shapes_attributes.measure_attributes`` reads back from a generated video.
"""
import itertools
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from vidrd.registry import DATASETS
from vidrd.utils.logging import get_logger
from .base_video_dataset import build_pipeline
from vidrd.utils.errors import InvalidValueError

#: Named colours (RGB). All are saturated, so their hue identifies them.
PALETTE: Dict[str, Tuple[int, int, int]] = {
    'red': (230, 30, 30),
    'orange': (240, 140, 20),
    'yellow': (230, 220, 30),
    'green': (30, 200, 50),
    'cyan': (30, 210, 220),
    'blue': (40, 70, 235),
    'purple': (150, 50, 220),
    'magenta': (225, 40, 200),
}
BACKGROUNDS: Dict[str, Tuple[int, int, int]] = {
    'black': (0, 0, 0), 'gray': (128, 128, 128), 'white': (255, 255, 255)}
SHAPES = ('circle', 'square', 'triangle')
#: Unit motion of each direction in image coordinates (x right, y down).
DIRECTIONS: Dict[str, Tuple[int, int]] = {
    'left': (-1, 0), 'right': (1, 0), 'up': (0, -1), 'down': (0, 1)}
#: Held out of training by default: each colour and direction twice, each shape 2-3 times.
DEFAULT_HELDOUT = (
    ('red', 'triangle', 'up'), ('red', 'square', 'left'),
    ('green', 'circle', 'right'), ('green', 'triangle', 'down'),
    ('blue', 'square', 'down'), ('blue', 'circle', 'left'),
    ('yellow', 'circle', 'up'), ('yellow', 'triangle', 'right'))


def shape_mask(shape: str, height: int, width: int, cx: float, cy: float,
               extent: float, wrap: bool = False) -> np.ndarray:
    """Boolean (H, W) mask of a shape ``extent`` pixels wide and tall centred at (cx, cy)
    (pixel-edge coordinates; a pixel is in when its centre is). ``wrap``: the frame is a torus,
    so a shape across an edge shows its part beyond it at the opposite edge."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    if wrap:  # each pixel's nearest copy around the centre
        x = cx + (x - cx + width / 2.0) % width - width / 2.0
        y = cy + (y - cy + height / 2.0) % height - height / 2.0
    r = extent / 2.0
    if shape == 'circle':
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if shape == 'square':
        return (np.abs(x - cx) <= r) & (np.abs(y - cy) <= r)
    if shape == 'triangle':  # apex up, base at the bottom: fills half its bounding box
        top = cy - r
        return (y >= top) & (y <= cy + r) & (np.abs(x - cx) <= (y - top) / 2.0)
    raise ValueError(f'unknown shape {shape!r}; choose from {SHAPES}')


def render_clip(shape: str, color: Sequence[int], background: Sequence[int],
                centers: np.ndarray, extent: float, size: Tuple[int, int],
                wrap: bool = False) -> np.ndarray:
    """uint8 (F, H, W, 3) clip of the shape at ``centers`` (F, 2) = (x, y) per frame."""
    height, width = size
    frames = np.empty((len(centers), height, width, 3), dtype=np.uint8)
    frames[:] = np.asarray(background, dtype=np.uint8)
    for frame, (cx, cy) in zip(frames, centers):
        frame[shape_mask(shape, height, width, cx, cy, extent, wrap)] = np.asarray(color,
                                                                                  np.uint8)
    return frames


def _rgb(value: Union[str, Sequence[int]], table: Dict[str, Tuple[int, int, int]],
         what: str) -> Tuple[int, int, int]:
    if isinstance(value, str):
        if value not in table:
            raise InvalidValueError(
                f'unknown {what} {value!r}; choose from {sorted(table)} or give RGB')
        return table[value]
    if len(value) != 3:
        raise InvalidValueError(f'{what} must be a name or an (r, g, b) triple, got {value}')
    return tuple(int(v) for v in value)


@DATASETS.register_module()
class MovingShapesDataset(BaseDataset):
    """Generated clips of a coloured shape moving in a straight line.

    Args:
        num_samples: clips in the split.
        num_frames: frames per clip (F).
        size: frame size, int or (h, w).
        colors: colour names (from ``PALETTE``) or a dict name -> RGB.
        shapes: subset of ``('circle', 'square', 'triangle')``.
        directions: subset of ``('left', 'right', 'up', 'down')``.
        background: a name from ``BACKGROUNDS`` or RGB.
        extent_range: the shape's width / height, as a fraction of the shorter frame side.
        travel_range: how far the shape moves over the clip, as a fraction of the frame side
            along the motion; without ``wrap``, ``extent + travel <= 1`` so the shape never
            leaves the frame.
        start: ``'random'``: the start is drawn so that the whole path stays inside the frame
            (anywhere, with ``wrap``);
            ``'center'``: every clip starts at the frame centre, so a clip's layout follows from
            its caption alone (then ``extent + 2 * travel <= 1``);
            ``'window'`` (needs ``wrap``): the clip is a window of an endless trajectory that
            starts at the frame centre (on the centre line across the motion): its k-th clip
            (offset ``k * travel``) with k drawn by ``window_weights``, or, with
            ``window_weights=None``, a window at a uniformly random offset.
        wrap: the frame is a torus: a shape leaving one edge re-enters at the opposite one.
        lane: with ``start='center'`` or ``'window'``, the trajectory runs this fraction of the
            frame to one side of the centre line, each direction in its own lane (like traffic:
            left in the upper lane, right in the lower one, up on the right, down on the left),
            so where a shape is tells which way it goes on; 0 = on the centre lines.
        window_weights: with ``start='window'``, the relative frequencies of a trajectory's
            first, second, ... clip; None: any offset (docs/long_videos_on_the_demo.md compares
            them).
        offset_step: with ``window_weights=None``, offsets are whole multiples of this many
            pixels (0: any). The autoencoder's pixel-shuffle factor puts every clip at the same
            sub-pixel phase of the latent grid as the first window, which keeps shapes as easy
            to learn as there.
        split: ``'train'`` (all combinations but the held-out ones), ``'heldout'`` or ``'all'``.
        heldout: held-out (colour, shape, direction) triples, or an int: that many triples drawn
            with ``seed``. Triples using attributes not configured are dropped.
        caption_template: format string with ``{color}``, ``{shape}``, ``{direction}``.
        fps: frame rate recorded in the metainfo.
        seed: clip ``i`` is generated from ``(seed, i)`` alone.
        pipeline: transforms applied to ``dict(frames=uint8 (F, H, W, 3), caption=..., ...)``,
            typically ``[dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]``.

    The combination of clip ``i`` is ``combinations[i % len(combinations)]`` (balanced); its
    size, start position and travel are drawn from ``(seed, i)``.
    """

    def __init__(self,
                 num_samples: int = 1024,
                 num_frames: int = 8,
                 size: Union[int, Sequence[int]] = 32,
                 colors: Union[Sequence[str], Dict[str, Sequence[int]]] = (
                     'red', 'green', 'blue', 'yellow'),
                 shapes: Sequence[str] = SHAPES,
                 directions: Sequence[str] = tuple(DIRECTIONS),
                 background: Union[str, Sequence[int]] = 'black',
                 extent_range: Sequence[float] = (0.3, 0.4),
                 travel_range: Sequence[float] = (0.35, 0.55),
                 start: str = 'random',
                 wrap: bool = False,
                 lane: float = 0.0,
                 window_weights: Optional[Sequence[float]] = (1.0, 1.0, 1.0),
                 offset_step: float = 0.0,
                 split: str = 'train',
                 heldout: Union[int, Sequence[Sequence[str]]] = DEFAULT_HELDOUT,
                 caption_template: str = 'a {color} {shape} moving {direction}',
                 fps: float = 8.0,
                 seed: int = 0,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = False):
        if num_samples < 1 or num_frames < 1:
            raise InvalidValueError(f'num_samples and num_frames must be >= 1, got {num_samples}, '
                                    f'{num_frames}')
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)
        if isinstance(colors, dict):
            self.palette = {name: _rgb(rgb, PALETTE, 'colour') for name, rgb in colors.items()}
        else:
            self.palette = {name: _rgb(name, PALETTE, 'colour') for name in colors}
        for shape in shapes:
            if shape not in SHAPES:
                raise ValueError(f'unknown shape {shape!r}; choose from {SHAPES}')
        for direction in directions:
            if direction not in DIRECTIONS:
                raise InvalidValueError(f'unknown direction {direction!r}; '
                                        f'choose from {tuple(DIRECTIONS)}')
        if split not in ('train', 'heldout', 'all'):
            raise InvalidValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")
        if wrap and not 0 < min(extent_range) <= max(extent_range) <= 0.5:
            raise InvalidValueError(
                f'with wrap=True, extent_range {extent_range} must be in (0, 0.5] of '
                'the frame (a larger shape would touch itself around the torus)')
        if not wrap and (max(extent_range) + max(travel_range) > 1.0 or min(extent_range) <= 0):
            raise InvalidValueError(
                f'extent_range {extent_range} + travel_range {travel_range} must stay '
                'within 1 so the shape never leaves the frame (or set wrap=True)')
        if start not in ('random', 'center', 'window'):
            raise InvalidValueError(f"start must be 'random', 'center' or 'window', got {start!r}")
        if start == 'window' and not wrap:
            raise InvalidValueError(
                "start='window' cuts clips from an endless trajectory: set wrap=True")
        if window_weights is not None and (not len(window_weights) or min(window_weights) < 0
                                           or sum(window_weights) <= 0):
            raise InvalidValueError(
                f'window_weights must be non-negative with a positive sum (or None: '
                f'any offset), got {window_weights}')
        if offset_step < 0:
            raise InvalidValueError(f'offset_step must be >= 0 pixels, got {offset_step}')
        if start == 'center' and not wrap and max(extent_range) + 2 * max(travel_range) > 1.0:
            raise InvalidValueError(
                f'with start="center", extent_range {extent_range} + 2 x '
                f'travel_range {travel_range} must stay within 1 so the shape never '
                'leaves the frame')
        self.start = start
        self.wrap = wrap
        self.lane = float(lane)
        self.offset_step = float(offset_step)
        self.window_weights = (None if window_weights is None else
                               np.asarray(window_weights, float) / sum(window_weights))
        self.num_samples = num_samples
        self.num_frames = num_frames
        self.shapes = tuple(shapes)
        self.directions = tuple(directions)
        self.background = _rgb(background, BACKGROUNDS, 'background')
        self.extent_range = tuple(float(v) for v in extent_range)
        self.travel_range = tuple(float(v) for v in travel_range)
        self.split = split
        self.caption_template = caption_template
        self.fps = fps
        self.seed = seed
        self.all_combinations = list(itertools.product(self.palette, self.shapes, self.directions))
        self.heldout_combinations = self._heldout(heldout)
        if split == 'train':
            self.combinations = [c for c in self.all_combinations
                                 if c not in self.heldout_combinations]
        elif split == 'heldout':
            self.combinations = list(self.heldout_combinations)
        else:
            self.combinations = list(self.all_combinations)
        if not self.combinations:
            raise InvalidValueError(
                f'the {split!r} split of MovingShapesDataset has no combinations')
        self._warn_uncovered()
        super().__init__(ann_file='', data_root='', data_prefix={},
                         pipeline=build_pipeline(pipeline), test_mode=test_mode,
                         lazy_init=lazy_init, serialize_data=serialize_data)
        self._warn_flip_leak()
        # Set directly: mmengine would read a string metainfo value as a file name.
        self._metainfo.update(colors=tuple(self.palette), shapes=self.shapes,
                              directions=self.directions, split=split,
                              heldout=tuple(self.heldout_combinations))

    def _heldout(self, heldout) -> List[Tuple[str, str, str]]:
        if isinstance(heldout, int):
            rng = np.random.default_rng((self.seed, 7))
            count = min(heldout, len(self.all_combinations))
            picks = rng.choice(len(self.all_combinations), size=count, replace=False)
            return [self.all_combinations[i] for i in sorted(picks.tolist())]
        chosen = [tuple(c) for c in heldout]
        for combination in chosen:
            if len(combination) != 3:
                raise ValueError(f'a held-out entry must be (colour, shape, direction), got '
                                 f'{combination}')
        return [c for c in chosen if c in self.all_combinations]

    def _warn_uncovered(self) -> None:
        if self.split != 'train':
            return
        for position, values in enumerate((self.palette, self.shapes, self.directions)):
            seen = {c[position] for c in self.combinations}
            missing = [v for v in values if v not in seen]
            if missing:
                get_logger().warning(f'MovingShapesDataset: {missing} never appear in training '
                                     'once the held-out combinations are removed')

    def _warn_flip_leak(self) -> None:
        """A left-right flip of a training clip ("... moving right" -> "... moving left") can
        produce a held-out combination, which would then no longer be unseen."""
        from .transforms.flip import RandomHorizontalFlip, mirror_caption
        flips = [t for t in self.pipeline.transforms if isinstance(t, RandomHorizontalFlip)
                 and t.prob > 0 and t.direction_words == 'swap']
        if not flips or self.split != 'train':
            return
        leaked = [c for c in self.combinations
                  if (c[0], c[1], mirror_caption(c[2])) in self.heldout_combinations]
        if leaked:
            get_logger().warning(
                f'MovingShapesDataset: RandomHorizontalFlip turns {len(leaked)} training '
                f'combination(s) into held-out ones (e.g. {leaked[0]}); drop the flip or choose '
                'held-out combinations closed under left <-> right')

    # --- generation --------------------------------------------------------------------------
    def caption_of(self, color: str, shape: str, direction: str) -> str:
        return self.caption_template.format(color=color, shape=shape, direction=direction)

    def load_data_list(self) -> List[dict]:
        height, width = self.size
        short = min(height, width)
        data_list = []
        for idx in range(self.num_samples):
            color, shape, direction = self.combinations[idx % len(self.combinations)]
            rng = np.random.default_rng((self.seed, idx))
            extent = float(rng.uniform(*self.extent_range)) * short
            ux, uy = DIRECTIONS[direction]
            side = width if ux else height
            travel = float(rng.uniform(*self.travel_range)) * side
            # Room for the centre: the whole path must keep the shape inside the frame.
            low_x = extent / 2 + (travel if ux < 0 else 0)
            high_x = width - extent / 2 - (travel if ux > 0 else 0)
            low_y = extent / 2 + (travel if uy < 0 else 0)
            high_y = height - extent / 2 - (travel if uy > 0 else 0)
            if self.wrap:  # the frame wraps: any start keeps the shape whole
                low_x, high_x, low_y, high_y = 0.0, float(width), 0.0, float(height)
            start = (float(rng.uniform(low_x, high_x)), float(rng.uniform(low_y, high_y)))
            if self.start != 'random':  # drawn anyway: later clips keep start='random''s draws
                # the lane: the direction turned a quarter (left -> up, up -> right, ...)
                start = (width / 2.0 - uy * self.lane * width,
                         height / 2.0 + ux * self.lane * height)
            if self.start == 'window':
                if self.window_weights is None:  # anywhere on a lap
                    offset = float(rng.uniform(0.0, side))
                    if self.offset_step:
                        offset = self.offset_step * (offset // self.offset_step)
                else:
                    offset = rng.choice(len(self.window_weights), p=self.window_weights) * travel
                start = ((start[0] + ux * offset) % width, (start[1] + uy * offset) % height)
            data_list.append(dict(
                color=color, shape=shape, direction=direction,
                caption=self.caption_of(color, shape, direction),
                extent=extent, travel=travel, start_center=start, split=self.split,
                fps=self.fps))
        return data_list

    def centers(self, info: dict) -> np.ndarray:
        """(F, 2) shape centres (x, y) of a clip, moving at constant speed (with ``wrap``, not
        reduced modulo the frame: rendering wraps them)."""
        ux, uy = DIRECTIONS[info['direction']]
        steps = np.linspace(0.0, 1.0, self.num_frames) if self.num_frames > 1 else np.zeros(1)
        x0, y0 = info['start_center']
        return np.stack([x0 + ux * info['travel'] * steps, y0 + uy * info['travel'] * steps], 1)

    def render(self, idx: int) -> np.ndarray:
        """uint8 (F, H, W, 3) frames of clip ``idx``."""
        return self._render(self.get_data_info(idx))

    def _render(self, info: dict) -> np.ndarray:
        return render_clip(info['shape'], self.palette[info['color']], self.background,
                           self.centers(info), info['extent'], self.size, self.wrap)

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        info['frames'] = self._render(info)
        info['ori_shape'] = info['img_shape'] = self.size
        return self.pipeline(info)

    # --- ground truth for evaluation -----------------------------------------------------
    def attributes(self, idx: int) -> Dict[str, str]:
        """Ground truth of clip ``idx``: ``dict(color, shape, direction, caption)``."""
        info = self.get_data_info(idx)
        return {key: info[key] for key in ('color', 'shape', 'direction', 'caption')}

    def prompts(self) -> List[str]:
        """The distinct captions of this split, in combination order."""
        return [self.caption_of(*c) for c in self.combinations]

    def heldout_prompts(self) -> List[str]:
        return [self.caption_of(*c) for c in self.heldout_combinations]

    def parse_caption(self, caption: str) -> Optional[Dict[str, str]]:
        """Attributes named by a caption of this dataset's template, or ``None``."""
        for combination in self.all_combinations:
            if self.caption_of(*combination) == caption:
                return dict(zip(('color', 'shape', 'direction'), combination))
        return None
