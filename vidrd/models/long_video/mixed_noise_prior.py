"""PYoCo's mixed noise prior (Ge et al., "Preserve Your Own Correlation: A Noise Prior for
Video Diffusion Models", ICCV 2023)."""
import math

import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class MixedNoisePrior(LongVideoStrategy):
    """Frames of a clip share one noise component: ``e^f = e_shared + e_ind^f`` with::

        e_shared ~ N(0, a^2 / (1 + a^2) I),   e_ind^f ~ N(0, 1 / (1 + a^2) I)

    Each frame has unit variance and any two frames have correlation ``a^2 / (1 + a^2)``.
    ``e_ind`` is the fresh noise the strategy is given, scaled; ``e_shared`` is one extra
    (B, C, 1, h, w) draw from ``ctx.generator``.

    Args:
        alpha: the prior's ``a >= 0`` (0 = independent frames).
        all_clips: apply to every clip; by default only to the first, whose noise the other
            strategies (FNR, PNS) then carry on.
    """

    def __init__(self, alpha: float = 1.0, all_clips: bool = False):
        alpha = float(alpha)
        if not alpha >= 0 or math.isinf(alpha):
            raise InvalidValueError(
                f'MixedNoisePrior: alpha must be a finite number >= 0, got {alpha}')
        self.alpha = alpha
        self.all_clips = all_clips

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        if clip_index > 0 and not self.all_clips:
            return noise
        b, c, _, h, w = noise.shape
        device = ctx.generator.device if ctx.generator is not None else noise.device
        shared = torch.randn((b, c, 1, h, w), generator=ctx.generator, device=device,
                             dtype=torch.float32).to(noise)
        scale = math.sqrt(1.0 + self.alpha ** 2)
        return shared * (self.alpha / scale) + noise * (1.0 / scale)
