"""Temporal co-denoising (MultiDiffusion, Bar-Tal et al. 2023; Gen-L-Video, Wang et al. 2023)."""
from typing import Callable, Dict, List, Optional

import torch
from tqdm.auto import tqdm

from vidrd.registry import MODELS

from .base_sampler import (GeneratedClip, SamplingRun, StepCallback, VideoLayout,
                           WindowedSampler, as_tensor)
from vidrd.utils.errors import InvalidValueError

WEIGHTINGS = ('flat', 'pyramid')


def window_starts(length: int, window: int, stride: int) -> List[int]:
    """First frames of the windows of ``window`` frames at ``stride`` over ``length`` frames;
    a last window ending at the last frame is added when the stride does not reach it, so
    every frame is in at least one window."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


def window_weights(window: int, weighting: str) -> torch.Tensor:
    """(window,) weights of a window's frames: ``flat`` all 1, ``pyramid`` 1, 2, ..., up to
    the middle and back down."""
    if weighting == 'flat':
        return torch.ones(window)
    if weighting == 'pyramid':
        j = torch.arange(window, dtype=torch.float32)
        return torch.minimum(j + 1, window - j)
    raise InvalidValueError(f'weighting must be one of {WEIGHTINGS}, got {weighting!r}')


@MODELS.register_module()
class TemporalCoDenoisingSampler(WindowedSampler):
    """Denoise a whole long video at once as overlapping windows of N frames (MultiDiffusion,
    Bar-Tal et al. 2023, eq. 5; Gen-L-Video, Wang et al. 2023, eq. 4).

    The video of L = K N frames (K the requested clips) starts as one noise draw
    (B, C, L, h, w). At every step each window of N frames at stride s (see
    :func:`window_starts`: the windows cover every frame) gets its classifier-free guided U-Net
    output; each frame's output is the weighted mean over the windows that hold it (the
    closed-form solution of MultiDiffusion's least-squares fusion), and one scheduler step
    moves the whole video. The mean is taken over network outputs (eps, v or x0, whichever the
    model predicts: at a fixed x_t each is an affine function of the others), never over
    x_{t-1}, so with eta > 0 the fresh noise is drawn once per frame and not shrunk by
    averaging. A storyline gives each window the prompt of the clip its middle frame falls in.

    Cost: about L / s windows of N frames per step, i.e. N / s times the paper's sampler per
    generated frame at the same step count; memory grows with L (the whole video is denoised
    together). Where windows disagree, averaging can leave two faint copies of an object
    (ghosting).

    Any scheduler works, multistep solvers (DPM-Solver++, UniPC) included: the whole video is
    one trajectory, one scheduler step per denoising step (with eta = 0).

    Args:
        num_frames: N, frames per window (the U-Net's clip length).
        stride: s, frames between window starts (default N // 4: Gen-L-Video's 4 for its
            16-frame windows).
        weighting: ``'flat'`` (MultiDiffusion's mean) or ``'pyramid'`` (frames near a
            window's edge, where it sees the least temporal context, count less).
        num_inference_steps / guidance_scale / progress / autocast_dtype: see
            :class:`LongVideoSampler`.
        eta / windows_per_call: see :class:`WindowedSampler`.
        scheduler: this sampler's own sampling scheduler over the model's noise schedule
            (DDIM or a multistep solver with eta 0), see :class:`LongVideoSampler`.
        step_cache: step caching (DeepCache), see :class:`LongVideoSampler`; each batch of
            windows (``windows_per_call``) is its own stream, so a group reuses only its own
            windows' features.
    """

    def __init__(self, num_frames: int = 16, stride: Optional[int] = None,
                 weighting: str = 'flat', num_inference_steps: int = 50,
                 guidance_scale: float = 7.5, eta: float = 0.0,
                 windows_per_call: Optional[int] = None, progress: bool = True,
                 autocast_dtype=None, step_cache: Optional[dict] = None,
                 scheduler: Optional[dict] = None):
        super().__init__(num_frames=num_frames, num_inference_steps=num_inference_steps,
                         guidance_scale=guidance_scale, eta=eta,
                         windows_per_call=windows_per_call, progress=progress,
                         autocast_dtype=autocast_dtype, step_cache=step_cache,
                         scheduler=scheduler)
        stride = max(1, num_frames // 4) if stride is None else stride
        if not 1 <= stride <= num_frames:
            raise InvalidValueError(f'TemporalCoDenoisingSampler: stride must be in [1, num_frames='
                                    f'{num_frames}], got {stride}')
        window_weights(num_frames, weighting)  # checks the name
        self.stride, self.weighting = stride, weighting

    def _repr_extra(self) -> str:
        return f', stride={self.stride}, weighting={self.weighting!r}, eta={self.eta}'

    def layout(self, num_clips: int) -> VideoLayout:
        """K N frames, scored as K stretches of N; seams where windows begin and end."""
        length = num_clips * self.num_frames
        starts = window_starts(length, self.num_frames, self.stride)
        edges = set(starts) | {a + self.num_frames for a in starts}
        seams = sorted(edges - {0, length})
        return VideoLayout([self.num_frames] * num_clips, seams=seams)

    def _run(self, run: SamplingRun, unet: Callable, scheduler, latent_shape, decode_fn,
             emit, callback: Optional[StepCallback]) -> None:
        """A video of ``run.num_clips`` x N frames; the sink gets it in pieces of N frames once
        the last step is done, ``callback`` reports the steps as those of one clip."""
        self._check_scheduler(scheduler)
        n, clips = self.num_frames, run.num_clips
        length = clips * n
        batch = run.cond[0].shape[0]
        latents = self._noise(run, (batch, latent_shape[0], length) + tuple(latent_shape[1:]))
        latents = latents * scheduler.init_noise_sigma
        scheduler.set_timesteps(run.num_steps)
        timesteps = scheduler.timesteps
        starts = window_starts(length, n, self.stride)
        weights = window_weights(n, self.weighting).to(device=run.device, dtype=run.dtype)
        coverage = torch.zeros(length, device=run.device, dtype=run.dtype)
        for a in starts:
            coverage[a:a + n] += weights
        assert bool((coverage > 0).all()), 'a frame is in no window'
        groups = self._groups(starts)
        conditioning: Dict[tuple, object] = {}
        step_kwargs = self._step_kwargs(run)

        with tqdm(total=len(timesteps), desc='co-denoising', unit='step',
                  disable=not self.progress) as bar:
            for s, t in enumerate(timesteps):
                fused = torch.zeros_like(latents)
                for group in groups:
                    # each window takes the prompt of the clip its middle frame is in
                    owners = tuple(min((a + n // 2) // n, clips - 1) for a in group)
                    embeds = self._batched_conditioning(unet, run, owners, conditioning)
                    x = torch.cat([latents[:, :, a:a + n] for a in group])  # (W*B, C, N, h, w)
                    with self._cache_stream(run, ('windows', tuple(group))):
                        out = self._guided_output(unet, x, t.to(run.device), embeds, run)
                    for k, a in enumerate(group):
                        fused[:, :, a:a + n] += (weights.view(1, 1, n, 1, 1)
                                                 * out[k * batch:(k + 1) * batch])
                fused = fused / coverage.view(1, 1, length, 1, 1)
                latents = as_tensor(scheduler.step(fused, int(t), latents, **step_kwargs))
                bar.update(1)
                if callback is not None:
                    callback(0, s, 1, len(timesteps))

        for k in range(clips):
            piece = latents[:, :, k * n:(k + 1) * n]
            emit(GeneratedClip(index=k, latents=piece,
                               video=decode_fn(piece) if decode_fn is not None else None))
