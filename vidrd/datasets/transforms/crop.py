"""Crop every frame of a clip with one box (centre or random)."""
from typing import Sequence, Tuple, Union

import numpy as np

from vidrd.registry import TRANSFORMS
from vidrd.utils.errors import InvalidValueError


def _pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or min(size) < 1:
        raise InvalidValueError(
            f'crop size must be an int or a pair (h, w) of positive ints, got {size}')
    return int(size[0]), int(size[1])


def _check_fits(frames: np.ndarray, size: Tuple[int, int], name: str) -> None:
    height, width = frames.shape[1:3]
    if height < size[0] or width < size[1]:
        raise InvalidValueError(
            f'{name}: frames of size {height}x{width} are smaller than the crop '
            f'{size[0]}x{size[1]}; put a Resize(scale={max(size)}) before it')


class _Crop:
    """Shared part: crop ``frames`` at (top, left) and record the box."""

    def __init__(self, size: Union[int, Sequence[int]]):
        self.size = _pair(size)

    def _offsets(self, height: int, width: int) -> Tuple[int, int]:
        raise NotImplementedError

    def __call__(self, results: dict) -> dict:
        frames = results['frames']
        _check_fits(frames, self.size, type(self).__name__)
        top, left = self._offsets(*frames.shape[1:3])
        crop_h, crop_w = self.size
        results['frames'] = np.ascontiguousarray(frames[:, top:top + crop_h, left:left + crop_w])
        results['crop_box'] = (left, top, left + crop_w, top + crop_h)  # x0, y0, x1, y1
        results['img_shape'] = (crop_h, crop_w)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'


@TRANSFORMS.register_module()
class CenterCrop(_Crop):
    """Crop the centre ``size`` = int or (h, w) of every frame. Adds ``crop_box``."""

    def _offsets(self, height: int, width: int) -> Tuple[int, int]:
        return (height - self.size[0]) // 2, (width - self.size[1]) // 2


@TRANSFORMS.register_module()
class RandomCrop(_Crop):
    """Crop the same random ``size`` = int or (h, w) box of every frame. Adds ``crop_box``."""

    def _offsets(self, height: int, width: int) -> Tuple[int, int]:
        return (np.random.randint(0, height - self.size[0] + 1),
                np.random.randint(0, width - self.size[1] + 1))
