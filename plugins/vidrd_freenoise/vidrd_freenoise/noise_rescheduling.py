"""FreeNoise's noise rescheduling (Qiu et al. 2023, arXiv 2310.15169, Sec. 3.2) as a vidrd
long-video strategy."""
from typing import Optional

import torch

from vidrd.models.long_video import LongVideoContext, LongVideoStrategy
from vidrd.registry import LONG_VIDEO_STRATEGIES
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class FreeNoiseRescheduling(LongVideoStrategy):
    """The noise of every new frame is a local shuffle of the noise one window earlier.

    FreeNoise defines the initial noise of a long video of frames ``t = 0, 1, ...`` from the
    noise of its first window of ``W`` frames only::

        eps_{0..W-1}                  fresh N(0, I)
        eps_{W+kS .. W+(k+1)S-1}      = shuffle(eps_{kS .. (k+1)S-1}),   k = 0, 1, ...

    i.e. ``[e_1..e_W, shuffle(e_1..e_S), shuffle(e_{S+1}..e_{2S}), ...]``: every frame reuses a
    frame of the first window (same content, so long-range consistency), reordered within
    groups of ``S`` frames (so not a loop of the same clip). One permutation per group, shared by
    the batch, channels and pixels.

    In vidrd's clip-after-clip sampler the video is the first clip's ``N`` frames followed by the
    ``N - M`` new frames of every later clip (the ``M`` prompt frames re-render the previous
    clip's end; ``drop_prompt_frames=True`` outputs exactly this sequence). This strategy gives
    clip 0 the frames ``eps_{0..N-1}`` and the new frames ``j >= M`` of clip ``i >= 1`` the next
    ``N - M`` frames of the sequence; the prompt frames ``j < M`` are left to the other
    strategies (e.g. ``FrameNoiseReversion``). With ``M = 0`` and ``W = N`` (the default),
    clip ``i``'s noise is clip ``i - 1``'s with each group of ``S`` frames shuffled, so clip
    ``i``'s noise is a group-wise shuffle of clip 0's.

    It keeps the last ``W + S`` frames of the sequence between clips (memory independent of
    the number of clips) and draws the permutations from the run's generator.

    Args:
        window_stride: ``S``, the size of the groups shuffled (FreeNoise's default: 4).
        window_size: ``W``, the window whose noise is reused; default the clip length ``N``
            (the model's training length, as in FreeNoise). ``W < N`` also reschedules frames
            ``W..N-1`` of the first clip.
    """

    def __init__(self, window_stride: int = 4, window_size: Optional[int] = None):
        if int(window_stride) < 1:
            raise InvalidValueError(f'FreeNoiseRescheduling: window_stride must be >= 1, got '
                                    f'{window_stride}')
        if window_size is not None and int(window_size) < 1:
            raise InvalidValueError(f'FreeNoiseRescheduling: window_size must be >= 1 or None (the '
                                    f'clip length), got {window_size}')
        self.window_stride = int(window_stride)
        self.window_size = None if window_size is None else int(window_size)
        self._sequence: Optional[torch.Tensor] = None  # eps_{start..start+L-1}, (B, C, L, h, w)
        self._start = 0  # index t of the first frame held in _sequence
        self._served = 0  # frames of the sequence handed to clips so far

    def check(self, num_frames: int, num_prompt_frames: int) -> None:
        window = self.window_size or num_frames
        if window > num_frames:
            raise InvalidValueError(
                f'FreeNoiseRescheduling: window_size={window} is larger than a clip '
                f'(num_frames={num_frames}); the first window must fit in the first clip')
        if self.window_stride > window:
            raise InvalidValueError(
                f'FreeNoiseRescheduling: window_stride={self.window_stride} is larger than the '
                f'window ({window} frames); use a stride <= window_size')

    # -- the noise sequence -------------------------------------------------------------------
    def _frames(self, start: int, stop: int, generator: Optional[torch.Generator],
                window: int) -> torch.Tensor:
        """``eps_{start..stop-1}`` (B, C, stop-start, h, w), extending the sequence in whole
        groups of S frames as needed and forgetting frames no later group reuses."""
        s = self.window_stride
        while self._start + self._sequence.shape[2] < stop:
            first = self._start + self._sequence.shape[2]  # = W + k S, the next group
            source = first - window - self._start
            device = generator.device if generator is not None else self._sequence.device
            order = torch.randperm(s, generator=generator, device=device).to(
                self._sequence.device)
            group = self._sequence[:, :, source:source + s].index_select(2, order)
            self._sequence = torch.cat([self._sequence, group], dim=2)
        out = self._sequence[:, :, start - self._start:stop - self._start]
        # the next group (at the end of the sequence) reuses frames from end - W on
        keep_from = min(stop, self._start + self._sequence.shape[2] - window)
        if keep_from > self._start:
            self._sequence = self._sequence[:, :, keep_from - self._start:]
            self._start = keep_from
        return out

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        n, m = ctx.num_frames, ctx.num_prompt_frames
        window = self.window_size or n
        if clip_index == 0:  # a new video: its first window is this clip's fresh noise
            self._sequence, self._start = noise[:, :, :window], 0
            self._served = n
            return self._frames(0, n, ctx.generator, window).to(noise)
        if self._sequence is None:
            raise RuntimeError('FreeNoiseRescheduling: clip 0 of this video was not seen; the '
                               'strategy must be in the sampler from the first clip')
        start, self._served = self._served, self._served + (n - m)
        new = self._frames(start, self._served, ctx.generator, window).to(noise)
        return torch.cat([noise[:, :, :m], new], dim=2)
