"""Past-dependent Noise Sampling (PNS), VidRD Sec. 3.3."""
import math

import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class PastDependentNoiseSampling(LongVideoStrategy):
    """The non-prompt frames' noise is correlated with the previous clip's noise, reversed.

    For every clip ``i >= 1`` and frame ``j >= M``::

        z^{i,j}_0 = a / sqrt(1 + a^2) * z^{i-1,N-1-j}_0 + e,   e ~ N(0, 1 / (1 + a^2) I)

    so each frame keeps unit variance and has correlation ``a / sqrt(1 + a^2)`` with frame
    ``N-1-j`` of the previous clip's initial noise (the progressive noise prior of PYoCo,
    Ge et al. 2023, applied across clips). ``a = 0`` gives independent noise.
    ``e`` is the fresh unit-variance noise scaled by ``1 / sqrt(1 + a^2)``; frames ``j < M``
    are left to the other strategies.

    Args:
        alpha: the correlation strength ``a >= 0``.
    """

    def __init__(self, alpha: float = 1.0):
        alpha = float(alpha)
        if not alpha >= 0 or math.isinf(alpha):
            raise InvalidValueError(
                f'PastDependentNoiseSampling: alpha must be a finite number >= 0 '
                f'(0 = independent noise), got {alpha}')
        self.alpha = alpha

    @property
    def previous_weight(self) -> float:
        """``a / sqrt(1 + a^2)``: the weight (and the correlation) of the previous noise."""
        return self.alpha / math.sqrt(1.0 + self.alpha ** 2)

    @property
    def fresh_std(self) -> float:
        """``1 / sqrt(1 + a^2)``: the standard deviation of the new part ``e``."""
        return 1.0 / math.sqrt(1.0 + self.alpha ** 2)

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        if ctx.prev_initial_noise is None:
            return noise
        n, m = ctx.num_frames, ctx.num_prompt_frames
        # frames j = M..N-1 mirror previous frames N-1-M..0
        previous = ctx.prev_initial_noise[:, :, :n - m].flip(2).to(noise)
        fresh = noise[:, :, m:] * self.fresh_std
        return torch.cat([noise[:, :, :m], self.previous_weight * previous + fresh], dim=2)
