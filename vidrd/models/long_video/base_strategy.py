"""The protocol between the long-video sampler and its strategies (FNR, PNS, DSG, baselines...).

Notation of the paper (VidRD, Sec. 3.3): clip ``i`` has ``N`` frames, the
first ``M`` of clip ``i >= 1`` are prompt frames tied to clip ``i - 1``; ``S`` DDIM steps,
``s = 0..S-1`` counting from the noisiest; ``z^{i,j}_s`` is the latent of clip ``i``, frame ``j``
*before* step ``s``, so ``z^{i,j}_0`` is the clip's initial noise.

A strategy is one registered class (``LONG_VIDEO_STRATEGIES``) that edits latents at four
points of the sampler's loop; it never knows which other strategies run with it. The sampler
applies the strategies in list order at each point::

    noise = fresh N(0, I) draw, (B, C, N, h, w)
    for strategy in strategies: noise = strategy.initial_noise(ctx, i, noise)   # z^i_0
    latents = noise * scheduler.init_noise_sigma
    for s in range(S):
        for strategy in strategies: latents = strategy.before_step(ctx, i, s, latents)
        output = denoiser(latents)      # the guided U-Net call, wrapped by every strategy
                                        # that overrides denoise(), the first one innermost
        latents = DDIM step s (output)
    for strategy in strategies: strategy.end_of_clip(ctx, i)

Hooks must not modify their inputs in place (the sampler caches them); they return a new
tensor, or the input unchanged when they have nothing to do. A sampler whose strategies do not
override ``denoise`` calls the U-Net exactly as before the hook existed.
"""
from dataclasses import dataclass, field
from typing import Any, List, Optional

import torch


@dataclass
class LongVideoContext:
    """What a strategy may read while clip ``clip_index`` is sampled.

    Attributes:
        num_frames: N, frames per clip.
        num_prompt_frames: M, prompt frames of every clip after the first.
        num_steps: S, denoising steps per clip.
        num_clips: number of clips of the video.
        generator: the random generator of the run (a CPU generator in seed-compatible mode).
            A strategy that needs randomness beyond the fresh noise it is given draws from it.
        seed_compatible: whether the sampler follows the original release's random draws.
        prev_initial_noise: ``z^{i-1}_0``, the previous clip's initial noise (B, C, N, h, w),
            in unit-variance noise space (before ``init_noise_sigma``); None for the first clip.
        prev_step_latents: ``z^{i-1}_s`` for s = 0..S-1, each (B, C, N, h, w): the previous
            clip's latents before step s (after that clip's own ``before_step`` edits); only
            recorded when a strategy sets ``needs_step_latents``. To keep memory flat, entry
            ``s`` is released once step ``s`` of the current clip has started, so during step s
            the entries ``s' >= s`` are available and earlier ones are None. None for the first
            clip or when no strategy needs them.
        prev_final_latents: ``z^{i-1}`` after its last step, (B, C, N, h, w): the previous
            clip's final latents; None for the first clip.
        scheduler: the run's scheduler (``add_noise``, ``predict_x0``, ``alphas_cumprod``).
        timesteps: the run's timesteps, (S,), ``timesteps[s]`` is step s's.
    """
    num_frames: int
    num_prompt_frames: int
    num_steps: int
    num_clips: int
    generator: Optional[torch.Generator] = None
    seed_compatible: bool = False
    prev_initial_noise: Optional[torch.Tensor] = None
    prev_step_latents: Optional[List[Optional[torch.Tensor]]] = field(default=None, repr=False)
    prev_final_latents: Optional[torch.Tensor] = field(default=None, repr=False)
    scheduler: Any = field(default=None, repr=False)
    timesteps: Optional[torch.Tensor] = field(default=None, repr=False)


class LongVideoStrategy:
    """Base class of long-video strategies; every hook defaults to "do nothing".

    Subclasses override the hooks they need and register themselves with
    ``@LONG_VIDEO_STRATEGIES.register_module()``; a config then names them by type, e.g.
    ``strategies=[dict(type='FrameNoiseReversion'), dict(type='MyStrategy', k=1)]``.
    """

    #: set to True if ``before_step`` reads ``ctx.prev_step_latents`` (the sampler records the
    #: per-step latents of a clip only when some strategy asks for them).
    needs_step_latents: bool = False

    def check(self, num_frames: int, num_prompt_frames: int) -> None:
        """Refuse sampler settings this strategy cannot work with (raise ``ValueError``).

        Called once when the sampler is built, so a bad combination fails before any work.
        """

    def initial_noise(self, ctx: LongVideoContext, clip_index: int,
                      noise: torch.Tensor) -> torch.Tensor:
        """Return clip ``clip_index``'s initial latents ``z^i_0`` (B, C, N, h, w).

        ``noise`` is the fresh unit-variance draw for this clip, as edited by the strategies
        before this one in the list.
        """
        return noise

    def before_step(self, ctx: LongVideoContext, clip_index: int, step_index: int,
                    latents: torch.Tensor) -> torch.Tensor:
        """Return the latents (B, C, N, h, w) that step ``step_index`` denoises."""
        return latents

    def denoise(self, ctx: LongVideoContext, clip_index: int, step_index: int,
                latents: torch.Tensor, denoiser) -> torch.Tensor:
        """Return the (guided) U-Net output that DDIM step ``step_index`` uses at ``latents``.

        ``denoiser(latents)`` is the default (through the hooks inside this one); a
        ``DenoiserCall`` also runs the guidance branches on their own (``branches``,
        ``guide``), e.g. to differentiate the conditional one. Only strategies that override
        this hook are called here.
        """
        return denoiser(latents)

    def end_of_clip(self, ctx: LongVideoContext, clip_index: int) -> None:
        """Called after the last step of clip ``clip_index``, before the sampler moves its
        cached state (initial noise, per-step latents) to ``ctx.prev_*``."""

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{type(self).__name__}({args})'


def reversed_frame_index(num_frames: int, frame: int) -> int:
    """``N - 1 - j``: the frame of the previous clip that frame ``j`` of this clip mirrors."""
    return num_frames - 1 - frame
