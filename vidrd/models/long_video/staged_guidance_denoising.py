"""Denoising with Staged Guidance (DSG), VidRD Sec. 3.3."""
from typing import List

import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class StagedGuidanceDenoising(LongVideoStrategy):
    """In the first denoising steps, prompt frames follow the previous clip's trajectory.

    Before step ``s`` of clip ``i >= 1``, prompt frame ``j < M`` is replaced by the previous
    clip's latent of its mirrored frame at the same step, ``z^{i-1,N-1-j}_s``, while::

        s < (M - j) * (S / M) * beta

    Frame 0 (which continues the previous clip's last frame) is guided longest, frame M-1
    shortest; after its stage a frame is denoised freely, so the clip can move on. ``beta = 0``
    disables the guidance, ``beta = 1`` guides frame 0 for all S steps.

    With a multistep solver, a replaced frame restarts its solver trajectory at that step
    (first-order update; see ``ReuseAndDiffuseSampler``): its stored outputs were made on
    the current clip's trajectory, not on the previous clip's it now continues.

    Args:
        beta: the guidance fraction in [0, 1].
    """

    needs_step_latents = True

    def __init__(self, beta: float = 0.2):
        beta = float(beta)
        if not 0.0 <= beta <= 1.0:
            raise InvalidValueError(
                f'StagedGuidanceDenoising: beta must be in [0, 1] (0 disables the '
                f'guidance), got {beta}')
        self.beta = beta

    def check(self, num_frames: int, num_prompt_frames: int) -> None:
        if num_prompt_frames < 1:
            raise InvalidValueError(
                'StagedGuidanceDenoising needs prompt frames (num_prompt_frames >= 1, got '
                f'{num_prompt_frames}): it guides them with the previous clip. Set '
                'num_prompt_frames or remove StagedGuidanceDenoising from the strategies.')

    def guided_frames(self, num_prompt_frames: int, num_steps: int, step_index: int) -> List[int]:
        """The prompt frames ``j`` replaced before step ``step_index``."""
        m, s = num_prompt_frames, step_index
        # same floating-point expression as the paper / original code
        return [j for j in range(m) if s < (m - j) * (num_steps / m) * self.beta]

    def before_step(self, ctx: LongVideoContext, clip_index: int, step_index: int,
                    latents: torch.Tensor) -> torch.Tensor:
        if ctx.prev_step_latents is None:
            return latents
        frames = self.guided_frames(ctx.num_prompt_frames, ctx.num_steps, step_index)
        if not frames:
            return latents
        previous = ctx.prev_step_latents[step_index]
        if previous is None:
            raise RuntimeError(f'StagedGuidanceDenoising: the previous clip\'s latents before '
                               f'step {step_index} were not cached')
        n = ctx.num_frames
        latents = latents.clone()
        for j in frames:
            latents[:, :, j] = previous[:, :, n - 1 - j]
        return latents
