"""Baseline: the same initial noise for every clip."""
import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy


@LONG_VIDEO_STRATEGIES.register_module()
class SharedNoise(LongVideoStrategy):
    """Every clip starts from the first clip's initial noise, ``z^i_0 = z^0_0``.

    The simplest way to make clips look alike, a baseline for FNR + PNS: the previous clip's
    initial noise is reused as a whole (by induction, the first clip's), frames in their order.
    """

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        if ctx.prev_initial_noise is None:
            return noise
        return ctx.prev_initial_noise.to(noise)
