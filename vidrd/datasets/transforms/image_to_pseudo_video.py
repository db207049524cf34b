"""Turn a still image into a pseudo-video by a smooth zoom and pan (VidRD's image-text data).

A crop box of the output's aspect ratio moves and scales over the F frames; each frame is the
image inside the box, resampled to the output size. The box of frame k is the interpolation
``box(e(t_k))`` between a start box and an end box, ``t_k = k / (F - 1)``, ``e`` an easing curve.
Sizes and centres are interpolated linearly in ``e``; since "the box lies inside the image" is a
set of linear inequalities in (size, centre), a start and an end box inside the image give every
box in between inside the image too, and the trajectory is as smooth as ``e`` (its second
differences are at most ``max|e''| * travel / (F - 1)^2``).
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from vidrd.registry import TRANSFORMS
from .resize import resize_frames
from vidrd.utils.errors import InvalidValueError

EASINGS = {
    'linear': lambda t: t,
    'ease_in': lambda t: t * t,
    'ease_out': lambda t: 1.0 - (1.0 - t) ** 2,
    'ease_in_out': lambda t: t * t * (3.0 - 2.0 * t),  # smoothstep: zero speed at both ends
}


def _pair(value, name: str) -> Tuple[float, float]:
    if isinstance(value, (int, float)):
        return float(value), float(value)
    if len(value) != 2:
        raise InvalidValueError(f'{name} must be a number or a pair, got {value}')
    return float(value[0]), float(value[1])


def largest_box(height: int, width: int, aspect: float) -> Tuple[float, float]:
    """(h, w) of the largest box of aspect ``w / h = aspect`` that fits in the image."""
    if width / height >= aspect:
        return float(height), float(height) * aspect
    return float(width) / aspect, float(width)


def zoom_pan_boxes(height: int, width: int, num_frames: int, aspect: float,
                   zoom_start: float, zoom_end: float, center_start: Tuple[float, float],
                   shift: Tuple[float, float], easing: str = 'ease_in_out') -> np.ndarray:
    """Boxes (F, 4) as float (x0, y0, x1, y1) in pixel-edge coordinates of the image.

    Args:
        zoom_start, zoom_end: zoom factors (>= 1) relative to the largest box of ``aspect``.
        center_start: (x, y) centre of the first box, in [0, 1] of the room it has to move in
            (0: touching the left / top edge, 1: the right / bottom edge).
        shift: (dx, dy) wanted move of the centre over the clip, in pixels; the end centre is
            clamped so the last box stays inside the image.
    """
    if easing not in EASINGS:
        raise InvalidValueError(f'unknown easing {easing!r}; choose one of {sorted(EASINGS)}')
    max_h, max_w = largest_box(height, width, aspect)
    h0, w0 = max_h / zoom_start, max_w / zoom_start
    h1, w1 = max_h / zoom_end, max_w / zoom_end
    cx0 = w0 / 2 + center_start[0] * (width - w0)
    cy0 = h0 / 2 + center_start[1] * (height - h0)
    cx1 = float(np.clip(cx0 + shift[0], w1 / 2, width - w1 / 2))
    cy1 = float(np.clip(cy0 + shift[1], h1 / 2, height - h1 / 2))
    t = np.linspace(0.0, 1.0, num_frames) if num_frames > 1 else np.zeros(1)
    e = EASINGS[easing](t)
    box_w, box_h = w0 + (w1 - w0) * e, h0 + (h1 - h0) * e
    cx, cy = cx0 + (cx1 - cx0) * e, cy0 + (cy1 - cy0) * e
    boxes = np.stack([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2], axis=1)
    # Guard against float rounding at the edges; the geometry keeps boxes inside already.
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0.0, float(width))
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0.0, float(height))
    return boxes


def render_boxes(image: np.ndarray, boxes: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resample the image inside each box to ``size`` (h, w): uint8 (F, h, w, 3).

    Bilinear sampling at sub-pixel box positions keeps the motion smooth (no one-pixel jumps).
    The image is first shrunk with antialiasing so that the smallest box spans about the output
    size, so downsampling does not alias.
    """
    out_h, out_w = size
    height, width = image.shape[:2]
    min_box_h = float(np.min(boxes[:, 3] - boxes[:, 1]))
    scale = min(1.0, out_h / max(min_box_h, 1e-6))
    if scale < 1.0:
        small_h = max(out_h, int(math.ceil(height * scale)))
        small_w = max(out_w, int(math.ceil(width * scale)))
        image = resize_frames(image[None], (small_h, small_w))[0]
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
    # Output pixel centres, as fractions of the box.
    u = (torch.arange(out_w, dtype=torch.float64) + 0.5) / out_w
    v = (torch.arange(out_h, dtype=torch.float64) + 0.5) / out_h
    grids = []
    for x0, y0, x1, y1 in boxes.tolist():
        xs = (x0 + u * (x1 - x0)) / width   # in [0, 1] of the image, pixel-edge convention
        ys = (y0 + v * (y1 - y0)) / height
        grid_y, grid_x = torch.meshgrid(ys * 2 - 1, xs * 2 - 1, indexing='ij')
        grids.append(torch.stack([grid_x, grid_y], dim=-1))
    grid = torch.stack(grids).float()  # (F, h, w, 2), normalised, align_corners=False
    frames = F.grid_sample(tensor.expand(len(boxes), -1, -1, -1), grid, mode='bilinear',
                           padding_mode='border', align_corners=False)
    return np.clip(np.rint(frames.permute(0, 2, 3, 1).numpy()), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class ImageToPseudoVideo:
    """``results['img']`` (H, W, 3) -> ``frames`` (F, h, w, 3): a random smooth zoom and pan.

    Args:
        num_frames: F.
        size: output frame size, int or (h, w); the crop box has this aspect ratio.
        zoom_range: the start and the end zoom are drawn uniformly from it (>= 1; 1 is the
            largest box of the output's aspect that fits in the image).
        pan_range: the most the box centre travels over the clip, as a fraction of the image
            width and height (a number or (fx, fy)); the move is uniform in [-f, f] per axis.
        easing: ``'linear'``, ``'ease_in'``, ``'ease_out'`` or ``'ease_in_out'`` (smoothstep).
        fps: frame rate recorded for the pseudo-video.

    Adds ``frames``, ``zoom_pan_boxes`` (F, 4) float (x0, y0, x1, y1) in image pixels, ``fps``,
    ``img_shape``.
    """

    def __init__(self,
                 num_frames: int = 16,
                 size: Union[int, Sequence[int]] = 256,
                 zoom_range: Sequence[float] = (1.0, 1.25),
                 pan_range: Union[float, Sequence[float]] = 0.1,
                 easing: str = 'ease_in_out',
                 fps: float = 8.0):
        if num_frames < 1:
            raise InvalidValueError(f'num_frames must be >= 1, got {num_frames}')
        self.size = (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)
        zoom_range = _pair(zoom_range, 'zoom_range')
        if min(zoom_range) < 1.0 or zoom_range[0] > zoom_range[1]:
            raise ValueError('zoom_range must be (low, high) with 1 <= low <= high, '
                             f'got {zoom_range}'
                             ' (a zoom below 1 would need a box larger than the image)')
        pan_range = _pair(pan_range, 'pan_range')
        if min(pan_range) < 0 or max(pan_range) > 1:
            raise InvalidValueError(f'pan_range must be in [0, 1], got {pan_range}')
        if easing not in EASINGS:
            raise InvalidValueError(f'unknown easing {easing!r}; choose one of {sorted(EASINGS)}')
        self.num_frames = num_frames
        self.zoom_range = zoom_range
        self.pan_range = pan_range
        self.easing = easing
        self.fps = fps

    def sample_boxes(self, height: int, width: int,
                     rng: Optional[np.random.RandomState] = None) -> np.ndarray:
        """Random boxes (F, 4) for an image of ``height`` x ``width``."""
        rng = rng or np.random
        zoom_start, zoom_end = rng.uniform(*self.zoom_range, size=2)
        center_start = tuple(rng.uniform(0.0, 1.0, size=2))
        shift = (rng.uniform(-1, 1) * self.pan_range[0] * width,
                 rng.uniform(-1, 1) * self.pan_range[1] * height)
        aspect = self.size[1] / self.size[0]
        return zoom_pan_boxes(height, width, self.num_frames, aspect, zoom_start, zoom_end,
                              center_start, shift, self.easing)

    def __call__(self, results: dict) -> dict:
        image = results['img']
        height, width = image.shape[:2]
        boxes = self.sample_boxes(height, width)
        results['frames'] = render_boxes(image, boxes, self.size)
        results['zoom_pan_boxes'] = boxes.astype(np.float32)
        results['fps'] = self.fps
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, size={self.size}, '
                f'zoom_range={self.zoom_range}, pan_range={self.pan_range}, '
                f'easing={self.easing!r}, fps={self.fps})')
