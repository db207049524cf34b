"""PYoCo's progressive noise prior (Ge et al., "Preserve Your Own Correlation: A Noise Prior for
Video Diffusion Models", ICCV 2023)."""
import math

import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class ProgressiveNoisePrior(LongVideoStrategy):
    """Each frame's noise is an autoregressive step from the previous frame's::

        e^0 ~ N(0, I),
        e^f = a / sqrt(1 + a^2) * e^{f-1} + e_ind^f,   e_ind^f ~ N(0, 1 / (1 + a^2) I)

    Each frame has unit variance; frames ``f`` and ``g`` have correlation
    ``(a / sqrt(1 + a^2))^|f - g|``. ``e^0`` and ``e_ind`` come from the fresh noise the
    strategy is given, so it draws nothing itself. (PNS applies the same recursion across clips.)

    Args:
        alpha: the prior's ``a >= 0`` (0 = independent frames).
        all_clips: apply to every clip; by default only to the first, whose noise the other
            strategies (FNR, PNS) then carry on.
    """

    def __init__(self, alpha: float = 1.0, all_clips: bool = False):
        alpha = float(alpha)
        if not alpha >= 0 or math.isinf(alpha):
            raise InvalidValueError(f'ProgressiveNoisePrior: alpha must be a finite number >= 0, '
                                    f'got {alpha}')
        self.alpha = alpha
        self.all_clips = all_clips

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        if clip_index > 0 and not self.all_clips:
            return noise
        scale = math.sqrt(1.0 + self.alpha ** 2)
        frames = [noise[:, :, 0]]
        for f in range(1, noise.shape[2]):
            frames.append(frames[-1] * (self.alpha / scale) + noise[:, :, f] * (1.0 / scale))
        return torch.stack(frames, dim=2)
