"""The Reuse-and-Diffuse long-video sampler (VidRD Sec. 3.3): clip after clip."""
import functools
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from tqdm.auto import tqdm

from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS

from .base_sampler import (GeneratedClip, LongVideoSampler, SamplingRun, StepCallback,
                           VideoLayout, as_tensor, begin_trajectory, is_multistep,
                           replaced_frames)
from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


def _build_strategy(cfg) -> LongVideoStrategy:
    strategy = LONG_VIDEO_STRATEGIES.build(cfg) if isinstance(cfg, dict) else cfg
    if not isinstance(strategy, LongVideoStrategy):
        raise TypeError(f'long-video strategy {cfg!r} built a {type(strategy).__name__}, which is '
                        'not a LongVideoStrategy (subclass vidrd.models.long_video.'
                        'LongVideoStrategy and register it in LONG_VIDEO_STRATEGIES)')
    return strategy


@MODELS.register_module()
class ReuseAndDiffuseSampler(LongVideoSampler):
    """Generate a long video clip after clip, each clip reusing the last one (VidRD Sec. 3.3).

    Each clip of N frames is denoised with S DDIM steps and classifier-free guidance; the
    strategies (registered in ``LONG_VIDEO_STRATEGIES``, see ``base_strategy.py`` for the
    protocol) tie it to the previous clip: Frame-level Noise Reversion, Past-dependent Noise
    Sampling and Denoising with Staged Guidance for the full method, or reconstruction
    guidance. The sampler keeps only what the next clip needs (the previous clip's initial
    noise and final latents and, if a strategy asks for them, its per-step latents), hands
    every finished clip to a sink and forgets it, so memory does not grow with the number of
    clips. It is registered in ``MODELS`` (it is built from the ``long_video_sampler`` key of a
    model or ablation config) and is a plain object, not a module: it holds settings, no
    weights.

    Args:
        num_frames: N, frames per clip.
        num_prompt_frames: M < N, prompt frames of every clip after the first.
        num_inference_steps: S, DDIM steps per clip.
        guidance_scale: classifier-free guidance weight w; guidance (a batched
            unconditional + conditional U-Net call) is used when w > 1, as in diffusers.
        strategies: configs (or built instances) of long-video strategies, applied in order.
        seed_compatible: draw the noise exactly as the original release (see ``_fresh_noise``),
            so a seed gives the original's video; noise is then drawn on the CPU.
        drop_prompt_frames: drop the first M decoded frames of every clip after the first (they
            re-render the end of the previous clip); the original keeps all N.
        progress: show a progress bar over clips x steps.
        autocast_dtype: run the U-Net calls under ``torch.autocast`` in this dtype (``'bf16'``
            / ``'fp16'``, or the torch dtype); the noise, the strategies and the DDIM update
            stay in the latents' dtype (fp32), and decoding is not autocast. None (default):
            the U-Net's own dtype. bf16 is faster on GPUs and on CPUs with AMX (1.6-1.7x a
            U-Net forward at issue 14's size), slower on CPUs without it.
        step_cache: step caching (DeepCache), ``dict(interval=N, branch=b)``, see
            :class:`LongVideoSampler`; each clip is its own stream: its first step is computed
            in full and nothing is reused across clips.
        scheduler: this sampler's own sampling scheduler (e.g.
            ``dict(type='DPMSolverMultistepScheduler')``) over the model's noise schedule, see
            :class:`LongVideoSampler`. None (default): the model's.

    Schedulers: DDIM, or a multistep solver (DPM-Solver++, UniPC). Each clip is its own
    solver trajectory: the solver's state is reset at the start of every clip. When the
    strategies replace frames between two steps (DSG's prompt frames, reconstruction
    guidance's re-noised ones, a plugin's edits), the stored outputs of those frames belong
    to another trajectory; :meth:`_scheduler_step` (the one place this is decided) gives the
    solver the frames whose latents differ from what its last step produced, and the solver
    restarts them: first-order update at that step (DDIM's, eta 0), no UniPC correction, new
    history from there. Frames the strategies left alone keep their multistep history. DDIM
    keeps no history, and its steps are exactly as without this rule.
    """

    def __init__(self, num_frames: int = 16, num_prompt_frames: int = 8,
                 num_inference_steps: int = 50, guidance_scale: float = 7.5,
                 strategies: Sequence = (), seed_compatible: bool = True,
                 drop_prompt_frames: bool = False, progress: bool = True,
                 autocast_dtype=None, step_cache: Optional[dict] = None,
                 scheduler: Optional[dict] = None):
        super().__init__(num_frames=num_frames, num_inference_steps=num_inference_steps,
                         guidance_scale=guidance_scale, progress=progress,
                         autocast_dtype=autocast_dtype, step_cache=step_cache,
                         scheduler=scheduler)
        if not 0 <= num_prompt_frames < num_frames:
            raise InvalidValueError(
                f'ReuseAndDiffuseSampler: num_prompt_frames (M={num_prompt_frames}) must be in '
                f'[0, num_frames) (N={num_frames}): a clip needs at least one new frame')
        self.num_prompt_frames = num_prompt_frames
        self.seed_compatible = seed_compatible
        self.drop_prompt_frames = drop_prompt_frames
        self.strategies: List[LongVideoStrategy] = [_build_strategy(s) for s in strategies]
        for strategy in self.strategies:
            strategy.check(num_frames, num_prompt_frames)
        # the strategies that wrap the denoiser call, innermost first
        self._denoise_hooks = [s for s in self.strategies
                               if type(s).denoise is not LongVideoStrategy.denoise]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(N={self.num_frames}, M={self.num_prompt_frames}, '
                f'S={self.num_inference_steps}, w={self.guidance_scale}, '
                f'strategies={self.strategies}, seed_compatible={self.seed_compatible}'
                + (f', autocast_dtype={self.autocast_dtype}' if self.autocast_dtype else '')
                + (f', step_cache={self.step_cache}' if self.step_cache else '') + ')')

    def layout(self, num_clips: int) -> VideoLayout:
        """N frames for the first clip, then N (or N - M with ``drop_prompt_frames``)."""
        n, m = self.num_frames, self.num_prompt_frames
        later = n - m if self.drop_prompt_frames else n
        return VideoLayout([n] + [later] * (num_clips - 1),
                           prompt_frames=0 if self.drop_prompt_frames else m)

    # -- the clips ----------------------------------------------------------------------------
    def _run(self, run: SamplingRun, unet: Callable, scheduler, latent_shape, decode_fn,
             emit, callback: Optional[StepCallback]) -> None:
        """Sample ``run.num_clips`` clips of B videos; ``decode_fn`` is called once per clip
        with its N frames, ``callback`` after every DDIM step of every clip."""
        scheduler.set_timesteps(run.num_steps)
        timesteps = scheduler.timesteps
        self._check_restarts(scheduler)
        ctx = LongVideoContext(
            num_frames=self.num_frames, num_prompt_frames=self.num_prompt_frames,
            num_steps=len(timesteps), num_clips=run.num_clips, generator=run.generator,
            seed_compatible=self.seed_compatible, scheduler=scheduler, timesteps=timesteps)
        batch = run.cond[0].shape[0]
        shape = (batch, latent_shape[0], self.num_frames, latent_shape[1], latent_shape[2])
        bar = tqdm(total=run.num_clips * len(timesteps), desc='long video', unit='step',
                   disable=not self.progress)
        # the text conditioning (with the U-Net's cross-attention K / V where it can
        # precompute them) is made once and reused while consecutive clips share the prompt
        conditioning_key, embeds = None, None
        try:
            for i in range(run.num_clips):
                bar.set_postfix_str(f'clip {i + 1}/{run.num_clips}')
                uncond = run.uncond[i] if run.guided else None
                key = (id(run.cond[i]), id(uncond))
                if key != conditioning_key:
                    embeds = self._conditioning(unet, run, run.cond[i], uncond)
                    conditioning_key = key
                emit(self._sample_clip(ctx, i, unet, scheduler, timesteps, embeds, run, shape,
                                       decode_fn, bar, callback))
        finally:
            bar.close()

    # -- one clip -----------------------------------------------------------------------------
    def _sample_clip(self, ctx: LongVideoContext, i: int, unet, scheduler, timesteps,
                     embeds, run: SamplingRun, shape, decode_fn,
                     bar, callback: Optional[StepCallback] = None) -> GeneratedClip:
        noise = self._fresh_noise(ctx, i, shape).to(device=run.device, dtype=run.dtype)
        for strategy in self.strategies:
            noise = strategy.initial_noise(ctx, i, noise)
        latents = noise * scheduler.init_noise_sigma
        record = any(s.needs_step_latents for s in self.strategies)
        step_latents: Optional[List[torch.Tensor]] = [] if record else None
        begin_trajectory(scheduler, len(timesteps))  # each clip is its own solver trajectory
        if run.step_cache is not None:
            run.step_cache.clear()  # and its own stream of cached U-Net features
        for s, t in enumerate(timesteps):
            stepped = latents
            for strategy in self.strategies:
                latents = strategy.before_step(ctx, i, s, latents)
            if ctx.prev_step_latents is not None:
                ctx.prev_step_latents[s] = None  # consumed: keeps memory at S latents
            if step_latents is not None:
                step_latents.append(latents)
            with self._cache_stream(run, ('clip', i)):
                eps = self._denoise(ctx, i, s, unet, latents, t.to(run.device), embeds, run)
            latents = self._scheduler_step(scheduler, eps, t, latents,
                                           stepped if s > 0 else None)
            bar.update(1)
            if callback is not None:
                callback(i, s, ctx.num_clips, len(timesteps))
        for strategy in self.strategies:
            strategy.end_of_clip(ctx, i)
        ctx.prev_initial_noise = noise
        ctx.prev_step_latents = step_latents
        ctx.prev_final_latents = latents

        video = None
        if decode_fn is not None:
            video = decode_fn(latents)
            if self.drop_prompt_frames and i > 0:
                video = video[:, :, self.num_prompt_frames:]
        return GeneratedClip(index=i, latents=latents, video=video)

    def _check_restarts(self, scheduler) -> None:
        """Refuse a multistep scheduler that cannot restart replaced frames (e.g. one of
        diffusers') when a strategy replaces latents between steps."""
        if not is_multistep(scheduler) or getattr(scheduler, 'is_multistep', False):
            return
        editors = [type(s).__name__ for s in self.strategies
                   if type(s).before_step is not LongVideoStrategy.before_step]
        if editors:
            raise InvalidValueError(
                f'ReuseAndDiffuseSampler: {", ".join(editors)} replace latents between steps, '
                f'which {type(scheduler).__name__} cannot follow (its stored model outputs would '
                "belong to another trajectory); use vidrd's DPMSolverMultistepScheduler or "
                'UniPCMultistepScheduler (they restart replaced frames) or DDIMScheduler')

    @staticmethod
    def _scheduler_step(scheduler, output: torch.Tensor, t: torch.Tensor,
                        latents: torch.Tensor, stepped: Optional[torch.Tensor]) -> torch.Tensor:
        """One scheduler step of a clip. ``stepped``: what the previous step produced (None at
        the first step); for a multistep solver, the frames of ``latents`` that differ from it
        were replaced by a strategy and restart their trajectory (``step(..., restart=)``)."""
        if stepped is None or not getattr(scheduler, 'is_multistep', False):
            return as_tensor(scheduler.step(output, int(t), latents))
        return as_tensor(scheduler.step(output, int(t), latents,
                                        restart=replaced_frames(stepped, latents)))

    def _denoise(self, ctx: LongVideoContext, i: int, s: int, unet, latents: torch.Tensor,
                 t: torch.Tensor, embeds, run: SamplingRun) -> torch.Tensor:
        """The guided U-Net output of step s, through the strategies' ``denoise`` hooks."""
        def denoiser(x: torch.Tensor) -> torch.Tensor:
            return self._guided_output(unet, x, t, embeds, run)

        for strategy in self._denoise_hooks:
            denoiser = functools.partial(strategy.denoise, ctx, i, s, denoiser=DenoiserCall(
                denoiser, self, unet, t, embeds, run))
        return denoiser(latents)

    def _fresh_noise(self, ctx: LongVideoContext, i: int, shape) -> torch.Tensor:
        """Unit-variance noise (B, C, N, h, w) for clip i, before the strategies edit it.

        Seed-compatible mode follows the original release's draws with a CPU generator: the
        first clip draws each frame in turn as ``torch.normal(0, 1, (B, C, 1, h, w))``; every
        later clip draws once, ``(B, C, N, h, w)``. (The original draws the later clips with
        standard deviation ``1 / sqrt(1 + alpha^2)``; PNS applies that scale itself, to the same
        numbers.) Otherwise one ``randn`` per clip on the generator's device.
        """
        g = ctx.generator
        if not self.seed_compatible:
            return torch.randn(shape, generator=g, device=g.device if g is not None else None)
        b, c, n, h, w = shape
        if i == 0:
            return torch.cat([torch.normal(0.0, 1.0, size=(b, c, 1, h, w), generator=g)
                              for _ in range(n)], dim=2)
        return torch.normal(0.0, 1.0, size=shape, generator=g)

    def _generator(self, generator, seed, device) -> Optional[torch.Generator]:
        if generator is not None and seed is not None:
            raise ValueError('pass either seed or generator, not both')
        if self.seed_compatible:
            if generator is not None and generator.device.type != 'cpu':
                raise InvalidValueError(
                    'seed_compatible=True draws noise on the CPU as the original '
                    f'release did; got a generator on {generator.device}')
            device = torch.device('cpu')
        return super()._generator(generator, seed, device)


class DenoiserCall:
    """What a strategy's ``denoise`` hook receives: the step's denoiser.

    ``denoiser(latents)`` is the guided output the step would use (through the hooks inside
    this one); :meth:`branches` and :meth:`guide` let a hook run the two branches of
    classifier-free guidance itself, e.g. to differentiate the conditional one.

    Attributes:
        timestep: the step's timestep t (0-d tensor).
        guidance_scale: w.
    """

    def __init__(self, inner: Callable[[torch.Tensor], torch.Tensor], sampler: LongVideoSampler,
                 unet, timestep: torch.Tensor, embeds, run: SamplingRun):
        self._inner, self._sampler, self._unet, self._run = inner, sampler, unet, run
        # precomputed cross-attention K / V carry no gradient: the branches take the states
        self._embeds = getattr(embeds, 'states', embeds)
        self.timestep = timestep
        self.guidance_scale = run.guidance_scale

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        return self._inner(latents)

    def _branch(self, latents: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        with self._sampler._autocast(self._run.device):
            return as_tensor(self._unet(latents, self.timestep, embeds)).to(latents.dtype)

    def branches(self, latents: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``(unconditional, conditional)`` U-Net outputs at ``latents`` (B, C, N, h, w), two
        calls, in the latents' dtype; unconditional is None without guidance. The
        unconditional branch runs without autograd; the conditional one in the caller's grad
        mode, so a hook can differentiate it under ``torch.enable_grad()``."""
        if not self._run.guided:
            return None, self._branch(latents, self._embeds)
        uncond_embeds, cond_embeds = self._embeds.chunk(2)
        with torch.no_grad():
            uncond = self._branch(latents.detach(), uncond_embeds)
        return uncond, self._branch(latents, cond_embeds)

    def guide(self, uncond: Optional[torch.Tensor], cond: torch.Tensor) -> torch.Tensor:
        """out_u + w (out_c - out_u), the sampler's classifier-free guidance."""
        return cond if uncond is None else uncond + self.guidance_scale * (cond - uncond)
