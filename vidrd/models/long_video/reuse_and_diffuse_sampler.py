"""The Reuse-and-Diffuse long-video sampler (VidRD Sec. 3.3): clip after clip with DDIM."""
import contextlib
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
from tqdm.auto import tqdm

from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS
from vidrd.utils.cli import check_value

from .base_strategy import LongVideoContext, LongVideoStrategy

Embeds = Union[torch.Tensor, Sequence[torch.Tensor]]


@dataclass
class GeneratedClip:
    """What the sampler hands to the sink after each clip.

    Attributes:
        index: the clip's index i.
        latents: its final latents (B, C, N, h, w), all N frames.
        video: the decoded clip (B, 3, F, H, W) from ``decode_fn`` (F = N, or N - M for clips
            after the first when ``drop_prompt_frames``); None without a ``decode_fn``.
    """
    index: int
    latents: torch.Tensor
    video: Optional[torch.Tensor]


@dataclass
class LongVideoOutput:
    """The result when no sink is given: ``video`` (B, 3, total frames, H, W), the clips
    concatenated (None without a ``decode_fn``), and ``clip_latents`` (clips, B, C, N, h, w)."""
    video: Optional[torch.Tensor]
    clip_latents: torch.Tensor


def _build_strategy(cfg) -> LongVideoStrategy:
    strategy = LONG_VIDEO_STRATEGIES.build(cfg) if isinstance(cfg, dict) else cfg
    if not isinstance(strategy, LongVideoStrategy):
        raise TypeError(f'long-video strategy {cfg!r} built a {type(strategy).__name__}, which is '
                        'not a LongVideoStrategy (subclass vidrd.models.long_video.'
                        'LongVideoStrategy and register it in LONG_VIDEO_STRATEGIES)')
    return strategy


def _as_tensor(output) -> torch.Tensor:
    """Our U-Net / scheduler return tensors; diffusers' return ``.sample`` / ``.prev_sample``."""
    if isinstance(output, torch.Tensor):
        return output
    for name in ('prev_sample', 'sample'):
        if hasattr(output, name):
            return getattr(output, name)
    return output[0]


def _check_guidance_scale(scale: float) -> None:
    check_value(scale >= 1.0, f'guidance_scale must be >= 1 (1 samples without classifier-free '
                f'guidance; below 1 there is nothing this sampler does differently), got {scale}')


#: ``callback(clip_index, step_index, num_clips, num_steps)``, after every DDIM step
StepCallback = Callable[[int, int, int, int], None]

#: names accepted for ``autocast_dtype`` (the ``--amp`` values of the tools, and torch's names)
AUTOCAST_DTYPES = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
                   'fp16': torch.float16, 'float16': torch.float16}


def _autocast_dtype(value) -> Optional[torch.dtype]:
    if value is None or (isinstance(value, torch.dtype) and value in AUTOCAST_DTYPES.values()):
        return value
    if isinstance(value, str) and value in AUTOCAST_DTYPES:
        return AUTOCAST_DTYPES[value]
    raise ValueError(f'ReuseAndDiffuseSampler: autocast_dtype={value!r} is not one of '
                     f'{sorted(AUTOCAST_DTYPES)} (or None to run the U-Net in its own dtype)')


@MODELS.register_module()
class ReuseAndDiffuseSampler:
    """Generate a long video clip after clip, each clip reusing the last one (VidRD Sec. 3.3).

    Each clip of N frames is denoised with S DDIM steps and classifier-free guidance; the
    strategies (registered in ``LONG_VIDEO_STRATEGIES``, see ``base_strategy.py`` for the
    protocol) tie it to the previous clip: Frame-level Noise Reversion, Past-dependent Noise
    Sampling and Denoising with Staged Guidance for the full method. The sampler keeps only
    what the next clip needs (the previous clip's initial noise and, if a strategy asks for
    them, its per-step latents), hands every finished clip to a sink and forgets it, so memory
    does not grow with the number of clips. It is registered in ``MODELS`` (it is built from
    the ``long_video_sampler`` key of a model or ablation config) and is a plain object, not a
    module: it holds settings, no weights.

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
    """

    def __init__(self, num_frames: int = 16, num_prompt_frames: int = 8,
                 num_inference_steps: int = 50, guidance_scale: float = 7.5,
                 strategies: Sequence = (), seed_compatible: bool = True,
                 drop_prompt_frames: bool = False, progress: bool = True,
                 autocast_dtype=None):
        if num_frames < 1:
            raise ValueError(f'ReuseAndDiffuseSampler: num_frames must be >= 1, got {num_frames}')
        if not 0 <= num_prompt_frames < num_frames:
            raise ValueError(
                f'ReuseAndDiffuseSampler: num_prompt_frames (M={num_prompt_frames}) must be in '
                f'[0, num_frames) (N={num_frames}): a clip needs at least one new frame')
        _check_guidance_scale(guidance_scale)
        if num_inference_steps < 1:
            raise ValueError('ReuseAndDiffuseSampler: num_inference_steps must be >= 1, got '
                             f'{num_inference_steps}')
        self.num_frames = num_frames
        self.num_prompt_frames = num_prompt_frames
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = float(guidance_scale)
        self.seed_compatible = seed_compatible
        self.drop_prompt_frames = drop_prompt_frames
        self.progress = progress
        self.autocast_dtype = _autocast_dtype(autocast_dtype)
        self.strategies: List[LongVideoStrategy] = [_build_strategy(s) for s in strategies]
        for strategy in self.strategies:
            strategy.check(num_frames, num_prompt_frames)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(N={self.num_frames}, M={self.num_prompt_frames}, '
                f'S={self.num_inference_steps}, w={self.guidance_scale}, '
                f'strategies={self.strategies}, seed_compatible={self.seed_compatible}'
                + (f', autocast_dtype={self.autocast_dtype}' if self.autocast_dtype else '') + ')')

    # -- public entry point -------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, unet: Callable, scheduler, prompt_embeds: Embeds,
               negative_prompt_embeds: Optional[Embeds] = None, *,
               latent_shape: Tuple[int, int, int], num_clips: Optional[int] = None,
               seed: Optional[int] = None, generator: Optional[torch.Generator] = None,
               decode_fn: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
               sink: Optional[Callable[[GeneratedClip], None]] = None,
               num_inference_steps: Optional[int] = None,
               guidance_scale: Optional[float] = None,
               callback: Optional[StepCallback] = None) -> Optional[LongVideoOutput]:
        """Sample ``num_clips`` clips of B videos.

        Args:
            unet: ``unet(sample (B, C, F, h, w), timestep, encoder_hidden_states (B, L, D))
                -> eps (B, C, F, h, w)``.
            scheduler: a DDIM scheduler (``set_timesteps``, ``timesteps``, ``step``,
                ``init_noise_sigma``), e.g. ``vidrd.models.schedulers.DDIMScheduler``.
            prompt_embeds: (B, L, D) for every clip, or a list of one (B, L, D) per clip (a
                storyline; see ``encode_storyline``).
            negative_prompt_embeds: the unconditional / negative embeddings, same forms;
                needed when guidance is on (``encode_prompts`` returns both).
            latent_shape: (C, h, w) of a latent frame.
            num_clips: number of clips (default: the storyline's length).
            seed / generator: the randomness (a seed makes a new generator).
            decode_fn: ``latents (B, C, F, h, w) -> video (B, 3, F, H, W)``, e.g. the temporal
                VAE's ``decode_video``; called once per clip with its N frames.
            sink: called with each :class:`GeneratedClip` as soon as it is done; the sampler
                keeps no reference to it. Without a sink the clips are collected and returned.
            num_inference_steps / guidance_scale: override the sampler's settings.
            callback: called after every DDIM step with ``(clip_index, step_index, num_clips,
                num_steps)``, e.g. to drive a progress bar in a web page.

        Returns:
            :class:`LongVideoOutput` without a sink, else None.
        """
        steps = num_inference_steps or self.num_inference_steps
        scale = self.guidance_scale if guidance_scale is None else float(guidance_scale)
        _check_guidance_scale(scale)
        check_value(num_clips is None or num_clips >= 1, f'num_clips must be >= 1, got {num_clips}')
        cond = self._per_clip(prompt_embeds, num_clips, 'prompt_embeds')
        num_clips = len(cond)
        guided = scale > 1.0
        uncond = None
        if guided:
            if negative_prompt_embeds is None:
                raise ValueError(f'guidance_scale={scale} > 1 needs negative_prompt_embeds (the '
                                 'encoding of "" or of a negative prompt); encode_prompts() '
                                 'returns both, or set guidance_scale=1 to sample without it')
            uncond = self._per_clip(negative_prompt_embeds, num_clips, 'negative_prompt_embeds')
        device, dtype = self._device_dtype(unet, cond[0])
        generator = self._generator(generator, seed, device)

        scheduler.set_timesteps(steps)
        timesteps = scheduler.timesteps
        ctx = LongVideoContext(
            num_frames=self.num_frames, num_prompt_frames=self.num_prompt_frames,
            num_steps=len(timesteps), num_clips=num_clips, generator=generator,
            seed_compatible=self.seed_compatible)
        batch = cond[0].shape[0]
        shape = (batch, latent_shape[0], self.num_frames, latent_shape[1], latent_shape[2])

        videos: List[torch.Tensor] = []
        latents: List[torch.Tensor] = []

        def collect(clip: GeneratedClip) -> None:
            latents.append(clip.latents)
            if clip.video is not None:
                videos.append(clip.video)

        bar = tqdm(total=num_clips * len(timesteps), desc='long video', unit='step',
                   disable=not self.progress)
        # the text conditioning (with the U-Net's cross-attention K / V where it can
        # precompute them) is made once and reused while consecutive clips share the prompt
        conditioning_key, embeds = None, None
        try:
            for i in range(num_clips):
                bar.set_postfix_str(f'clip {i + 1}/{num_clips}')
                key = (id(cond[i]), id(uncond[i]) if guided else None)
                if key != conditioning_key:
                    with self._autocast(device):
                        embeds = self._text_conditioning(
                            unet, self._guidance_embeds(cond[i], uncond[i] if guided else None,
                                                        device, dtype))
                    conditioning_key = key
                (sink or collect)(self._sample_clip(
                    ctx, i, unet, scheduler, timesteps, embeds, scale, shape, device, dtype,
                    decode_fn, bar, callback))
        finally:
            bar.close()
        if sink is not None:
            return None
        return LongVideoOutput(video=torch.cat(videos, dim=2) if videos else None,
                               clip_latents=torch.stack(latents))

    __call__ = sample

    # -- one clip -----------------------------------------------------------------------------
    def _sample_clip(self, ctx: LongVideoContext, i: int, unet, scheduler, timesteps,
                     embeds, scale: float, shape, device, dtype, decode_fn,
                     bar, callback: Optional[StepCallback] = None) -> GeneratedClip:
        noise = self._fresh_noise(ctx, i, shape).to(device=device, dtype=dtype)
        for strategy in self.strategies:
            noise = strategy.initial_noise(ctx, i, noise)
        latents = noise * scheduler.init_noise_sigma
        record = any(s.needs_step_latents for s in self.strategies)
        step_latents: Optional[List[torch.Tensor]] = [] if record else None
        for s, t in enumerate(timesteps):
            for strategy in self.strategies:
                latents = strategy.before_step(ctx, i, s, latents)
            if ctx.prev_step_latents is not None:
                ctx.prev_step_latents[s] = None  # consumed: keeps memory at S latents
            if step_latents is not None:
                step_latents.append(latents)
            with self._autocast(device):
                eps = self._guided_eps(unet, latents, t.to(device), embeds, scale)
            latents = _as_tensor(scheduler.step(eps, int(t), latents))
            bar.update(1)
            if callback is not None:
                callback(i, s, ctx.num_clips, len(timesteps))
        for strategy in self.strategies:
            strategy.end_of_clip(ctx, i)
        ctx.prev_initial_noise = noise
        ctx.prev_step_latents = step_latents

        video = None
        if decode_fn is not None:
            video = decode_fn(latents)
            if self.drop_prompt_frames and i > 0:
                video = video[:, :, self.num_prompt_frames:]
        return GeneratedClip(index=i, latents=latents, video=video)

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

    def _autocast(self, device):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(device).type, dtype=self.autocast_dtype)

    @staticmethod
    def _guided_eps(unet, latents: torch.Tensor, t, embeds, scale: float) -> torch.Tensor:
        """Classifier-free guidance: eps_u + w (eps_c - eps_u), one batched U-Net call.
        ``embeds``: (2B, L, D) [uncond; cond] (or its precomputed text conditioning)."""
        # .to: under autocast the U-Net returns its lower precision; guidance and the DDIM
        # update run in the latents' (elementwise ops are not autocast)
        if scale <= 1.0:
            return _as_tensor(unet(latents, t, embeds)).to(latents.dtype)
        eps = _as_tensor(unet(torch.cat([latents, latents]), t, embeds)).to(latents.dtype)
        eps_uncond, eps_cond = eps.chunk(2)
        return eps_uncond + scale * (eps_cond - eps_uncond)

    # -- argument handling --------------------------------------------------------------------
    @staticmethod
    def _per_clip(embeds: Embeds, num_clips: Optional[int], name: str) -> List[torch.Tensor]:
        if isinstance(embeds, torch.Tensor):
            if embeds.dim() != 3:
                raise ValueError(f'{name} must be (B, L, D), got shape {tuple(embeds.shape)}')
            return [embeds] * (1 if num_clips is None else num_clips)
        embeds = list(embeds)
        if num_clips is not None and len(embeds) != num_clips:
            raise ValueError(f'{name} has {len(embeds)} per-clip embeddings (a storyline) but '
                             f'num_clips={num_clips}')
        if not embeds:
            raise ValueError(f'{name} is empty')
        return embeds

    @staticmethod
    def _text_conditioning(unet, embeds: torch.Tensor):
        """``embeds``, or the U-Net's precomputed form of them (``precompute_text_conditioning``:
        cross-attention keys and values of every layer, computed here once per run instead
        of at every step)."""
        precompute = getattr(unet, 'precompute_text_conditioning', None)
        return precompute(embeds) if callable(precompute) else embeds

    @staticmethod
    def _guidance_embeds(cond, uncond, device, dtype) -> torch.Tensor:
        """(2B, L, D) = [uncond; cond] for a guided call, or (B, L, D)."""
        embeds = cond if uncond is None else torch.cat([uncond, cond])
        return embeds.to(device=device, dtype=dtype)

    @staticmethod
    def _device_dtype(unet, embeds: torch.Tensor):
        params = getattr(unet, 'parameters', None)
        first = next(iter(params()), None) if callable(params) else None
        if first is not None:
            return first.device, first.dtype
        return embeds.device, embeds.dtype

    def _generator(self, generator, seed, device) -> Optional[torch.Generator]:
        if generator is not None and seed is not None:
            raise ValueError('pass either seed or generator, not both')
        if self.seed_compatible:
            if generator is not None and generator.device.type != 'cpu':
                raise ValueError('seed_compatible=True draws noise on the CPU as the original '
                                 f'release did; got a generator on {generator.device}')
            device = torch.device('cpu')
        if seed is not None:
            generator = torch.Generator(device=device).manual_seed(int(seed))
        return generator
