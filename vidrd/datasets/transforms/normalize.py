"""Map uint8 frames to the [-1, 1] range the VAE and the diffusion model work in."""
import numpy as np

from vidrd.registry import TRANSFORMS
from vidrd.utils.errors import InvalidValueError


@TRANSFORMS.register_module()
class NormalizeVideo:
    """``frames`` uint8 [0, 255] (F, H, W, 3) -> float32 ``(x - mean) / std``; the defaults
    (127.5, 127.5) give [-1, 1], Stable Diffusion's VAE input range. Sets ``normalized=True``."""

    def __init__(self, mean: float = 127.5, std: float = 127.5):
        if std <= 0:
            raise InvalidValueError(f'std must be positive, got {std}')
        self.mean = float(mean)
        self.std = float(std)

    def __call__(self, results: dict) -> dict:
        frames = results['frames']
        if results.get('normalized'):
            raise ValueError('NormalizeVideo applied twice: the frames are already normalised')
        if frames.dtype != np.uint8:
            raise TypeError(f'NormalizeVideo expects uint8 frames, got {frames.dtype}')
        results['frames'] = (frames.astype(np.float32) - self.mean) / self.std
        results['normalized'] = True
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mean={self.mean}, std={self.std})'
