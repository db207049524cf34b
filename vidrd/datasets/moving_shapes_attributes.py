"""Reading colour, shape and motion direction back from a MovingShapes-like video.

Pure functions for an in-domain evaluator: given a generated video, which colour is the shape,
which shape is it, and which way does it move? Compare with ``MovingShapesDataset.attributes``.

- Foreground: pixels farther than ``threshold`` (RGB distance in [0, 1] units) from the
  background colour, estimated as the median colour of the frame borders; per frame only the
  largest connected blob is kept, so speckles of a noisy sample do not move the measurements.
- Frames are read as a torus, so a shape that leaves one edge and re-enters at the opposite one
  (``MovingShapesDataset(wrap=True)``) is measured whole: positions are circular means, blobs
  are found and outlined with the frame rolled to put the shape in the middle. For a shape
  inside the frame this is the plain measurement (a circular mean of a symmetric blob is its
  centre; all positions shift alike for any blob).
- Colour: circular mean of the foreground pixels' hue (weighted by saturation), nearest hue of the
  palette. Palette colours must be saturated (white / gray have no hue).
- Shape: on a tighter mask, edges at half the blob's peak distance from the background (so a
  blurred shape keeps its outline; a fixed threshold takes in the halo and rounds every shape
  into a disc): a triangle (apex up) has a quarter of its pixels above the middle row of its
  bounding box, a circle or a square half; then the fill ratio of the bounding box tells the
  square (1) from the circle (pi/4 ~ 0.785). Medians over frames, split at the midpoints.
- Direction: least-squares line through the blob centroids over time (unwrapped across the
  edges); the displacement over the clip along the dominant axis gives left / right / up /
  down, or ``'none'`` below ``min_motion`` pixels.

Videos are torch tensors (3, F, H, W) in [-1, 1] (as the model generates them) or numpy arrays
(F, H, W, 3), uint8 or float in [0, 1].
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from .moving_shapes import PALETTE

SQUARE_CIRCLE_SPLIT = (1.0 + math.pi / 4) / 2  # fill ratio, ~0.893
TRIANGLE_TOP_SPLIT = (0.5 + 0.25) / 2           # share of pixels in the top half
SHAPE_EDGE = 0.5  # shape outline at half the peak distance from the background


def video_to_frames(video) -> np.ndarray:
    """float64 (F, H, W, 3) in [0, 1] from a (3, F, H, W) tensor in [-1, 1] or an
    (F, H, W, 3) array (uint8, or float in [0, 1])."""
    if hasattr(video, 'detach'):
        array = video.detach().float().cpu().numpy()
        if array.ndim != 4 or array.shape[0] != 3:
            raise ValueError(f'expected a (3, F, H, W) tensor, got {tuple(array.shape)}')
        return np.clip((array.transpose(1, 2, 3, 0).astype(np.float64) + 1.0) / 2.0, 0.0, 1.0)
    array = np.asarray(video)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f'expected an (F, H, W, 3) array, got {array.shape}')
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def estimate_background(frames: np.ndarray) -> np.ndarray:
    """Median RGB of the border pixels of all frames, (3,)."""
    border = np.concatenate([frames[:, 0].reshape(-1, 3), frames[:, -1].reshape(-1, 3),
                             frames[:, :, 0].reshape(-1, 3), frames[:, :, -1].reshape(-1, 3)])
    return np.median(border, axis=0)


def circular_centroid(mask: np.ndarray) -> Optional[Tuple[float, float]]:
    """(x, y) of a boolean (H, W) mask's pixel centres as circular means on the torus of the
    frame, in [0, W) x [0, H); ``None`` for an empty mask."""
    rows, cols = np.nonzero(mask)
    if len(cols) == 0:
        return None
    centre = []
    for coords, period in ((cols, mask.shape[1]), (rows, mask.shape[0])):
        angle = 2.0 * math.pi * (coords + 0.5) / period
        mean = math.atan2(np.sin(angle).mean(), np.cos(angle).mean())
        centre.append((mean / (2.0 * math.pi) * period - 0.5) % period)
    return centre[0], centre[1]


def _middle_shift(mask: np.ndarray) -> Tuple[int, int]:
    """(rows, cols) to ``np.roll`` a mask by so that its circular centroid is in the middle."""
    centre = circular_centroid(mask)
    if centre is None:
        return 0, 0
    height, width = mask.shape
    return int(round((height - 1) / 2.0 - centre[1])), int(round((width - 1) / 2.0 - centre[0]))


def centred_masks(masks: np.ndarray) -> np.ndarray:
    """(F, H, W) masks each rolled to put its blob in the middle of the frame (a shape split
    across an edge becomes whole)."""
    return np.stack([np.roll(m, _middle_shift(m), axis=(0, 1)) for m in masks])


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    shift = _middle_shift(mask)
    rolled = np.roll(mask, shift, axis=(0, 1))
    labels, count = ndimage.label(rolled)
    if count > 1:
        sizes = ndimage.sum(rolled, labels, index=np.arange(1, count + 1))
        rolled = labels == (1 + int(np.argmax(sizes)))
    return np.roll(rolled, (-shift[0], -shift[1]), axis=(0, 1))


def foreground_masks(video, background: Optional[Sequence[float]] = None,
                     threshold: float = 0.25, relative: float = 0.0) -> np.ndarray:
    """Boolean (F, H, W): the largest blob (on the torus) differing from the background in
    each frame by more than ``threshold``, and by more than ``relative`` times the frame's
    largest difference."""
    frames = video_to_frames(video)
    bg = estimate_background(frames) if background is None else np.asarray(background, float)
    if bg.max() > 1.0:  # given as 0..255
        bg = bg / 255.0
    distance = np.linalg.norm(frames - bg, axis=-1)
    peak = distance.max(axis=(1, 2), keepdims=True)
    masks = distance > np.maximum(threshold, relative * peak)
    return np.stack([_largest_blob(mask) for mask in masks])


def torus_blob_sizes(mask: np.ndarray) -> List[int]:
    """Pixel counts of the connected blobs of a boolean (H, W) mask on the torus of the frame
    (a blob crossing an edge is one blob), largest first."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return []
    parent = list(range(count + 1))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for first, last in ((labels[0], labels[-1]), (labels[:, 0], labels[:, -1])):
        for a, b in zip(first, last):
            if a and b:
                parent[root(a)] = root(b)
    sizes: Dict[int, int] = {}
    for label, size in zip(range(1, count + 1),
                           ndimage.sum(mask, labels, index=np.arange(1, count + 1))):
        sizes[root(label)] = sizes.get(root(label), 0) + int(size)
    return sorted(sizes.values(), reverse=True)


def blob_counts(video, background: Optional[Sequence[float]] = None, threshold: float = 0.25,
                min_area: int = 4) -> np.ndarray:
    """(F,) number of blobs of at least ``min_area`` pixels differing from the background by
    more than ``threshold`` in each frame (on the torus): 1 for a clean frame, 0 for a frame
    without a shape, 2 or more where a sampler left copies of the shape (ghosting)."""
    frames = video_to_frames(video)
    bg = estimate_background(frames) if background is None else np.asarray(background, float)
    masks = np.linalg.norm(frames - bg, axis=-1) > threshold
    return np.array([sum(size >= min_area for size in torus_blob_sizes(mask))
                     for mask in masks])


def _hue_saturation(rgb: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360) and saturation of (..., 3) RGB in [0, 1] (HSV model)."""
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    chroma = high - low
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(high == r, ((g - b) / safe) % 6.0,
                   np.where(high == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)) * 60.0
    saturation = np.where(high > 0, chroma / np.where(high > 0, high, 1.0), 0.0)
    return hue % 360.0, saturation


def _hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def measure_color(video, palette: Optional[Dict[str, Sequence[int]]] = None,
                  masks: Optional[np.ndarray] = None) -> Optional[str]:
    """Name of the palette colour nearest in hue to the foreground, ``None`` without one."""
    palette = palette or PALETTE
    frames = video_to_frames(video)
    masks = foreground_masks(video) if masks is None else masks
    pixels = frames[masks]
    if len(pixels) == 0:
        return None
    hue, saturation = _hue_saturation(pixels)
    weight = saturation + 1e-6
    angle = np.deg2rad(hue)
    mean_hue = math.degrees(math.atan2(np.sum(weight * np.sin(angle)),
                                       np.sum(weight * np.cos(angle)))) % 360.0
    palette_hues = {name: float(_hue_saturation(np.asarray(rgb, float) / 255.0)[0])
                    for name, rgb in palette.items()}
    return min(palette_hues, key=lambda name: _hue_distance(mean_hue, palette_hues[name]))


def fill_ratios(masks: np.ndarray) -> np.ndarray:
    """Foreground pixels / bounding-box area per frame (NaN for empty frames)."""
    ratios = np.full(len(masks), np.nan)
    for i, mask in enumerate(masks):
        ys, xs = np.nonzero(mask)
        if len(xs):
            area = (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)
            ratios[i] = len(xs) / area
    return ratios


def top_fractions(masks: np.ndarray) -> np.ndarray:
    """Share of the foreground pixels above the middle row of the bounding box per frame
    (pixels on it count half; NaN for empty frames)."""
    fractions = np.full(len(masks), np.nan)
    for i, mask in enumerate(masks):
        ys = np.nonzero(mask)[0]
        if len(ys):
            middle = (ys.min() + ys.max()) / 2.0
            fractions[i] = (np.sum(ys < middle) + 0.5 * np.sum(ys == middle)) / len(ys)
    return fractions


def measure_shape(video, masks: Optional[np.ndarray] = None,
                  background: Optional[Sequence[float]] = None,
                  threshold: float = 0.25) -> Optional[str]:
    """``'square'``, ``'circle'`` or ``'triangle'``; ``None`` when no frame has a foreground.

    ``masks`` (F, H, W) default to ``foreground_masks(video, background, threshold,
    relative=SHAPE_EDGE)``: outlines at half maximum."""
    if masks is None:
        masks = foreground_masks(video, background, threshold, relative=SHAPE_EDGE)
    if not masks.any():
        return None
    masks = centred_masks(masks)  # bounding boxes of whole shapes
    if float(np.nanmedian(top_fractions(masks))) < TRIANGLE_TOP_SPLIT:
        return 'triangle'
    return 'square' if float(np.nanmedian(fill_ratios(masks))) >= SQUARE_CIRCLE_SPLIT else 'circle'


def shape_centroids(masks: np.ndarray) -> np.ndarray:
    """(F, 2) circular centroids (x, y) of the masks, NaN where a frame has no foreground."""
    centres = [circular_centroid(mask) for mask in masks]
    return np.array([(np.nan, np.nan) if c is None else c for c in centres], dtype=np.float64)


def wrapped_difference(delta: np.ndarray, period: float) -> np.ndarray:
    """The shortest signed displacement on a circle of ``period``: into [-period/2, period/2)."""
    return (np.asarray(delta) + period / 2.0) % period - period / 2.0


def measure_motion(video, masks: Optional[np.ndarray] = None) -> Optional[Tuple[float, float]]:
    """(dx, dy) in pixels over the clip, from a least-squares line through the foreground
    centroids (x right, y down; unwrapped across the frame edges); ``None`` with fewer than two
    frames showing a foreground."""
    masks = foreground_masks(video) if masks is None else masks
    centres = shape_centroids(masks)
    times = np.nonzero(~np.isnan(centres[:, 0]))[0]
    if len(times) < 2:
        return None
    height, width = masks.shape[1:]
    span = len(masks) - 1
    motion = []
    for axis, period in ((0, width), (1, height)):
        steps = wrapped_difference(np.diff(centres[times, axis]), period)
        path = np.concatenate([[0.0], np.cumsum(steps)])  # unwrapped positions
        motion.append(float(np.polyfit(times.astype(float), path, 1)[0] * span))
    return motion[0], motion[1]


def measure_direction(video, min_motion: float = 1.0,
                      masks: Optional[np.ndarray] = None) -> str:
    """``'left'``, ``'right'``, ``'up'``, ``'down'`` along the dominant axis of motion, or
    ``'none'`` when the shape moves less than ``min_motion`` pixels (or is not found)."""
    motion = measure_motion(video, masks)
    if motion is None:
        return 'none'
    dx, dy = motion
    if max(abs(dx), abs(dy)) < min_motion:
        return 'none'
    if abs(dx) >= abs(dy):
        return 'left' if dx < 0 else 'right'
    return 'up' if dy < 0 else 'down'


def measure_attributes(video, palette: Optional[Dict[str, Sequence[int]]] = None,
                       background: Optional[Sequence[float]] = None,
                       threshold: float = 0.25, min_motion: float = 1.0) -> Dict:
    """``dict(color, shape, direction, motion=(dx, dy), foreground_fraction)`` of a video."""
    if background is None:  # once, for both masks
        background = estimate_background(video_to_frames(video))
    masks = foreground_masks(video, background, threshold)
    return dict(color=measure_color(video, palette, masks),
                shape=measure_shape(video, background=background, threshold=threshold),
                direction=measure_direction(video, min_motion, masks),
                motion=measure_motion(video, masks),
                foreground_fraction=float(masks.mean()))
