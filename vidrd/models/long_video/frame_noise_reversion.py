"""Frame-level Noise Reversion (FNR), VidRD Sec. 3.3."""
import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class FrameNoiseReversion(LongVideoStrategy):
    """The prompt frames of a clip start from the previous clip's initial noise, reversed.

    ``z^{i,j}_0 = z^{i-1,N-1-j}_0`` for ``j < M`` and every clip ``i >= 1``: frame 0 of the new
    clip starts from the noise of the previous clip's last frame, frame 1 from the one before
    it, and so on, so the new clip begins where the last one ended. ``z^{i-1}_0`` is the
    previous clip's *initial noise* (before denoising), as in the original release. Frames
    ``j >= M`` are left to the other strategies.
    """

    def check(self, num_frames: int, num_prompt_frames: int) -> None:
        if num_prompt_frames < 1:
            raise InvalidValueError(
                'FrameNoiseReversion needs prompt frames (num_prompt_frames >= 1, got '
                f'{num_prompt_frames}): it reverses the previous clip\'s noise into them. Set '
                'num_prompt_frames or remove FrameNoiseReversion from the strategies.')

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        if ctx.prev_initial_noise is None:
            return noise
        n, m = ctx.num_frames, ctx.num_prompt_frames
        # frames N-1, N-2, ..., N-M of the previous clip -> frames 0, 1, ..., M-1
        reversed_tail = ctx.prev_initial_noise[:, :, n - m:].flip(2)
        return torch.cat([reversed_tail.to(noise), noise[:, :, m:]], dim=2)
