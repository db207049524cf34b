"""Resize every frame of a clip."""
from typing import Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from vidrd.registry import TRANSFORMS
from vidrd.utils.errors import InvalidValueError


def resize_frames(frames: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize (F, H, W, C) frames to ``size`` = (h, w), bilinear with antialiasing.

    uint8 in, uint8 out (rounded); float in, float32 out.
    """
    out_h, out_w = int(size[0]), int(size[1])
    if frames.shape[1:3] == (out_h, out_w):
        return frames
    is_uint8 = frames.dtype == np.uint8
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    tensor = F.interpolate(tensor, size=(out_h, out_w), mode='bilinear', align_corners=False,
                           antialias=True)
    array = tensor.permute(0, 2, 3, 1).numpy()
    if is_uint8:
        return np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return array.astype(np.float32)


def shorter_side_size(height: int, width: int, shorter: int) -> Tuple[int, int]:
    """(h, w) with the shorter side equal to ``shorter`` and the aspect ratio kept."""
    if height <= width:
        return shorter, max(1, int(round(width * shorter / height)))
    return max(1, int(round(height * shorter / width))), shorter


@TRANSFORMS.register_module()
class Resize:
    """Resize ``results['frames']`` (F, H, W, 3).

    Args:
        scale: an int resizes the shorter side to it, keeping the aspect ratio (the usual first
            step before a square crop); a pair ``(h, w)`` resizes to exactly that size.

    Updates ``frames`` and ``img_shape``.
    """

    def __init__(self, scale: Union[int, Sequence[int]]):
        if isinstance(scale, int):
            if scale < 1:
                raise InvalidValueError(f'scale must be positive, got {scale}')
        elif len(scale) != 2 or min(scale) < 1:
            raise InvalidValueError(
                f'scale must be an int or a pair (h, w) of positive ints, got {scale}')
        self.scale = scale if isinstance(scale, int) else tuple(int(s) for s in scale)

    def __call__(self, results: dict) -> dict:
        frames = results['frames']
        height, width = frames.shape[1:3]
        if isinstance(self.scale, int):
            size = shorter_side_size(height, width, self.scale)
        else:
            size = self.scale
        results['frames'] = resize_frames(frames, size)
        results['img_shape'] = tuple(results['frames'].shape[1:3])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale})'
