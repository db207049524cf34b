"""What every long-video sampler shares: its call, its settings, its output and the guided
denoiser call.

A long-video sampler is a registered component (``MODELS``) with the call of
:meth:`LongVideoSampler.sample`: a U-Net, a scheduler, text embeddings (one for every clip, or
one per clip: a storyline), the latent shape, the length in clips, a seed, and optionally a
decoder, a sink that receives the video piece by piece, and a step callback. The paper's
clip-after-clip sampler (:class:`ReuseAndDiffuseSampler`) and the methods that came after it
(temporal co-denoising, FIFO-Diffusion) all take that call, so ``VidRD.generate``, the tools,
the web app and the ablation harness take any of them from a config.

Length is counted in clips of ``num_frames`` (N) frames: a sampler without clips makes about
as many frames as K clips of the paper's sampler, and hands them to the sink in pieces of N.
"""
import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from vidrd.utils.errors import InvalidValueError, check_value
from vidrd.utils.precision import AUTO, is_auto, resolve_autocast

Embeds = Union[torch.Tensor, Sequence[torch.Tensor]]

#: ``callback(clip_index, step_index, num_clips, num_steps)``, after every denoising step (a
#: sampler without clips reports itself as one clip of all its steps)
StepCallback = Callable[[int, int, int, int], None]

#: names accepted for ``autocast_dtype`` (the ``--amp`` values of the tools, and torch's names)
AUTOCAST_DTYPES = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
                   'fp16': torch.float16, 'float16': torch.float16}


@dataclass
class GeneratedClip:
    """What a sampler hands to the sink, piece by piece.

    Attributes:
        index: the piece's index i (the clip of a clip-after-clip sampler).
        latents: its final latents (B, C, n, h, w): all N frames of a clip, or the next n
            frames of a sampler without clips.
        video: the decoded piece (B, 3, F, H, W) from ``decode_fn`` (F = n, or N - M for clips
            after the first when prompt frames are dropped); None without a ``decode_fn``.
    """
    index: int
    latents: torch.Tensor
    video: Optional[torch.Tensor]


@dataclass
class LongVideoOutput:
    """The result when no sink is given: ``video`` (B, 3, total frames, H, W), the pieces
    concatenated (None without a ``decode_fn``), and ``clip_latents`` (pieces, B, C, n, h, w)."""
    video: Optional[torch.Tensor]
    clip_latents: torch.Tensor


@dataclass
class VideoLayout:
    """How the frames of a long video were made, for metrics that read it.

    Attributes:
        clip_lengths: frames of each clip (or each N-frame stretch of a video without clips),
            in order; their sum is the video's length.
        prompt_frames: prompt frames shown at the start of every clip after the first (they
            re-render the end of the previous clip; 0 when dropped or for no clips).
        seams: frame indices t where the step t - 1 -> t crosses a seam of the method (a clip
            boundary, or where a window of co-denoising begins or ends); None: the clip
            boundaries.
    """
    clip_lengths: List[int]
    prompt_frames: int = 0
    seams: Optional[List[int]] = field(default=None)

    @property
    def num_frames(self) -> int:
        return sum(self.clip_lengths)


def resolve_autocast_dtype(value, owner: str = 'sampler') -> Optional[torch.dtype]:
    """The torch dtype of an ``autocast_dtype`` setting (None, ``'fp32'``: no autocast;
    ``'auto'``: bf16 or None for this machine's default device, provisionally: a sampler
    decides again for the device of each run).

    The names are those of every precision setting (``vidrd.utils.precision``).
    """
    return resolve_autocast(value, f'{owner}: autocast_dtype')


def check_step_cache(value, owner: str) -> Optional[dict]:
    """``dict(interval=N, branch=b)`` of a ``step_cache`` setting (None: off); defaults
    interval 3, branch 2 (see ``vidrd.models.unets.unet3d_condition.StepCache``)."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {'interval', 'branch'}:
        raise InvalidValueError(f'{owner}: step_cache must be None (off) or dict(interval=N, '
                                f'branch=b), got {value!r}')
    cache = dict(interval=value.get('interval', 3), branch=value.get('branch', 2))
    for key, number in cache.items():
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise InvalidValueError(
                f'{owner}: step_cache {key} must be an int >= 1, got {number!r}')
    return cache


def check_guidance_scale(scale: float) -> None:
    check_value(scale >= 1.0, f'guidance_scale must be >= 1 (1 samples without classifier-free '
                f'guidance; below 1 there is nothing this sampler does differently), got {scale}')


def check_scheduler_config(value, owner: str) -> Optional[dict]:
    """A sampler's own ``scheduler``: None, or a dict naming a registered sampling scheduler
    type (a copy)."""
    if value is None:
        return None
    from vidrd.registry import DIFFUSION_SCHEDULERS
    value = dict(value) if isinstance(value, Mapping) else value
    kind = value.get('type') if isinstance(value, dict) else None
    if not isinstance(kind, str) or DIFFUSION_SCHEDULERS.get(kind) is None:
        names = sorted(DIFFUSION_SCHEDULERS.module_dict)
        raise InvalidValueError(f'{owner}: scheduler must be None (the model\'s) or a dict '
                                f'with a registered type ({names}), got {value!r}',
                                parameter='scheduler')
    return value


def is_multistep(scheduler) -> bool:
    """Whether ``scheduler`` keeps model outputs of earlier steps (a multistep solver such as
    DPM-Solver++ or UniPC): its steps must follow one trajectory in order. vidrd's solvers say
    so with ``is_multistep``; diffusers' keep a ``model_outputs`` list."""
    flag = getattr(scheduler, 'is_multistep', None)
    if flag is not None:
        return bool(flag)
    return hasattr(scheduler, 'model_outputs')


def begin_trajectory(scheduler, num_steps: int) -> None:
    """Start a new solver trajectory (a clip of the clip-after-clip sampler): a multistep
    solver forgets the outputs of the previous one (``reset_state()``, or ``set_timesteps``
    for schedulers without it). DDIM keeps nothing between steps and is left alone."""
    if not is_multistep(scheduler):
        return
    reset = getattr(scheduler, 'reset_state', None)
    if callable(reset):
        reset()
    else:
        scheduler.set_timesteps(num_steps)


def replaced_frames(stepped: torch.Tensor, latents: torch.Tensor) -> Optional[torch.Tensor]:
    """(B, F) bool: the frames of ``latents`` (B, C, F, h, w) that differ from what the last
    scheduler step produced (``stepped``); None when no frame does."""
    if latents is stepped:
        return None
    mask = (latents != stepped).any(dim=4).any(dim=3).any(dim=1)
    return mask if bool(mask.any()) else None


def as_tensor(output) -> torch.Tensor:
    """Our U-Net / scheduler return tensors; diffusers' return ``.sample`` / ``.prev_sample``."""
    if isinstance(output, torch.Tensor):
        return output
    for name in ('prev_sample', 'sample'):
        if hasattr(output, name):
            return getattr(output, name)
    return output[0]


@dataclass
class SamplingRun:
    """The checked arguments of one ``sample`` call."""
    cond: List[torch.Tensor]              # (B, L, D) per clip
    uncond: Optional[List[torch.Tensor]]  # same, when guided
    guidance_scale: float
    num_steps: int
    device: torch.device
    dtype: torch.dtype
    generator: Optional[torch.Generator]
    step_cache: Any = None                # the U-Net's StepCache while caching is on

    @property
    def num_clips(self) -> int:
        return len(self.cond)

    @property
    def guided(self) -> bool:
        return self.guidance_scale > 1.0


class LongVideoSampler:
    """Base class of long-video samplers: settings, argument checks and the guided U-Net call.

    Subclasses implement :meth:`_run` (and :meth:`layout` when their video is not N frames
    per clip) and register themselves in ``MODELS``; :meth:`sample` checks the arguments.

    Args:
        num_frames: N, frames the U-Net sees at once (a clip, or a window).
        num_inference_steps: denoising steps of a frame from noise to clean.
        guidance_scale: classifier-free guidance weight w; guidance (a batched unconditional +
            conditional U-Net call) is used when w > 1, as in diffusers.
        progress: show a progress bar.
        autocast_dtype: run the U-Net calls under ``torch.autocast`` in this dtype (``'bf16'``
            / ``'fp16'``, or the torch dtype); the noise, guidance and scheduler updates stay in
            the latents' dtype (fp32), and decoding is not autocast. None: the U-Net's own
            dtype. ``'auto'``: bf16 on a CUDA GPU that supports it or a CPU with AMX, else
            none; chosen for the device of each run and logged with the reason.
        step_cache: step caching (DeepCache, Ma et al. 2024): ``dict(interval=N, branch=b)``
            computes the U-Net in full every N-th step of a clip / window group and only its
            shallow branch (skip branches 1..b, see ``StepCache``) in between, reusing the
            deep features of the last full step. None (default): every call in full, as
            without it. Needs a U-Net with skip branches (``UNet3DConditionModel`` and every
            registered U-Net built on it).
        scheduler: this sampler's own sampling scheduler, e.g.
            ``dict(type='DPMSolverMultistepScheduler')``: a ``DIFFUSION_SCHEDULERS`` config
            built over the noise schedule of the scheduler ``sample`` is given (the model's:
            its betas, prediction type and x0 clipping; keys named here win). None
            (default): the given scheduler. So a sampler config chooses its solver while the
            model keeps one (FIFO-Diffusion needs DDIM, the paper's sampler takes a solver).
    """

    #: frames of a clip after the first that re-render the previous clip (0: none)
    num_prompt_frames: int = 0
    drop_prompt_frames: bool = False

    def __init__(self, num_frames: int = 16, num_inference_steps: int = 50,
                 guidance_scale: float = 7.5, progress: bool = True, autocast_dtype=None,
                 step_cache: Optional[dict] = None, scheduler: Optional[dict] = None):
        name = type(self).__name__
        if num_frames < 1:
            raise InvalidValueError(f'{name}: num_frames must be >= 1, got {num_frames}')
        if num_inference_steps < 1:
            raise InvalidValueError(f'{name}: num_inference_steps must be >= 1, got '
                                    f'{num_inference_steps}')
        check_guidance_scale(guidance_scale)
        self.num_frames = num_frames
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = float(guidance_scale)
        self.progress = progress
        self.autocast_dtype = resolve_autocast_dtype(autocast_dtype, name)
        # 'auto' is decided again for the device of every run (and logged there)
        self._autocast_auto = is_auto(autocast_dtype)
        self.step_cache = check_step_cache(step_cache, name)
        self.scheduler = check_scheduler_config(scheduler, name)

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
        """Sample B long videos of ``num_clips`` clips' length.

        Args:
            unet: ``unet(sample (B, C, F, h, w), timestep, encoder_hidden_states (B, L, D))
                -> output (B, C, F, h, w)``; ``timestep`` a scalar, or (B, F) for samplers
                that give frames their own noise levels.
            scheduler: a sampling scheduler (``set_timesteps``, ``timesteps``, ``step``,
                ``init_noise_sigma``): ``vidrd.models.schedulers.DDIMScheduler``, or a
                multistep solver (``DPMSolverMultistepScheduler``,
                ``UniPCMultistepScheduler``) where the method allows one.
            prompt_embeds: (B, L, D) for every clip, or a list of one (B, L, D) per clip (a
                storyline; see ``encode_storyline``).
            negative_prompt_embeds: the unconditional / negative embeddings, same forms;
                needed when guidance is on (``encode_prompts`` returns both).
            latent_shape: (C, h, w) of a latent frame.
            num_clips: the length in clips (default: the storyline's length).
            seed / generator: the randomness (a seed makes a new generator).
            decode_fn: ``latents (B, C, F, h, w) -> video (B, 3, F, H, W)``, e.g. the temporal
                VAE's ``decode_video``; called once per piece.
            sink: called with each :class:`GeneratedClip` as soon as it is done; the sampler
                keeps no reference to it. Without a sink the pieces are collected and returned.
            num_inference_steps / guidance_scale: override the sampler's settings.
            callback: called after every denoising step with ``(clip_index, step_index,
                num_clips, num_steps)``, e.g. to drive a progress bar in a web page.

        Returns:
            :class:`LongVideoOutput` without a sink, else None.
        """
        run = self._prepare(unet, prompt_embeds, negative_prompt_embeds, num_clips, seed,
                            generator, num_inference_steps, guidance_scale)
        scheduler = self.sampling_scheduler(scheduler)
        emit, finish = collect_or_sink(sink)
        with self._step_cache_session(unet) as cache:
            run.step_cache = cache
            self._run(run, unet, scheduler, latent_shape, decode_fn, emit, callback)
        return finish()

    def sampling_scheduler(self, scheduler):
        """The scheduler this sampler solves with: its own ``scheduler`` config over the noise
        schedule of ``scheduler`` (a new instance per run), or ``scheduler`` itself."""
        if self.scheduler is None:
            return scheduler
        schedule = getattr(scheduler, 'noise_schedule_config', None)
        if schedule is None:
            raise InvalidValueError(
                f'{type(self).__name__}: scheduler={self.scheduler!r} is built over the noise '
                "schedule of the model's sampling scheduler, which must be one of vidrd's "
                f'(DDIMScheduler, a multistep solver); {type(scheduler).__name__} is not: '
                'set the model\'s sampling_scheduler instead', parameter='scheduler')
        from vidrd.registry import DIFFUSION_SCHEDULERS
        return DIFFUSION_SCHEDULERS.build(dict(schedule(), **self.scheduler))

    def _step_cache_session(self, unet):
        """The U-Net's step cache for this run (a context yielding it), or a context yielding
        None when caching is off."""
        if self.step_cache is None:
            return contextlib.nullcontext()
        session = getattr(unet, 'step_cache_session', None)
        if not callable(session):
            raise InvalidValueError(
                f'{type(self).__name__}: step_cache needs a U-Net with skip '
                'branches to cache (UNet3DConditionModel and the registered U-Nets '
                f'built on it); {type(unet).__name__} has none: remove step_cache')
        return session(**self.step_cache)

    @staticmethod
    def _cache_stream(run: 'SamplingRun', stream):
        """Calls inside reuse deep features of earlier calls of the same ``stream`` (a clip, a
        window group) when step caching is on; nothing otherwise."""
        if run.step_cache is None:
            return contextlib.nullcontext()
        return run.step_cache.use(stream)

    def _run(self, run: 'SamplingRun', unet: Callable, scheduler,
             latent_shape: Tuple[int, int, int],
             decode_fn: Optional[Callable[[torch.Tensor], torch.Tensor]],
             emit: Callable[[GeneratedClip], None],
             callback: Optional[StepCallback]) -> None:
        """The method itself: make the video of ``run`` and ``emit`` it piece by piece."""
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.sample(*args, **kwargs)

    def layout(self, num_clips: int) -> VideoLayout:
        """The frames a ``num_clips`` call makes: N per clip."""
        return VideoLayout([self.num_frames] * num_clips)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(N={self.num_frames}, S={self.num_inference_steps}, '
                f'w={self.guidance_scale}' + self._repr_extra()
                + (f', autocast_dtype={self.autocast_dtype}' if self.autocast_dtype else '')
                + (f', step_cache={self.step_cache}' if self.step_cache else '') + ')')

    def _repr_extra(self) -> str:
        return ''

    # -- argument handling --------------------------------------------------------------------
    def _prepare(self, unet, prompt_embeds: Embeds, negative_prompt_embeds: Optional[Embeds],
                 num_clips: Optional[int], seed: Optional[int],
                 generator: Optional[torch.Generator], num_inference_steps: Optional[int],
                 guidance_scale: Optional[float]) -> SamplingRun:
        steps = num_inference_steps or self.num_inference_steps
        scale = self.guidance_scale if guidance_scale is None else float(guidance_scale)
        check_guidance_scale(scale)
        check_value(num_clips is None or num_clips >= 1, f'num_clips must be >= 1, got {num_clips}')
        cond = self._per_clip(prompt_embeds, num_clips, 'prompt_embeds')
        uncond = None
        if scale > 1.0:
            if negative_prompt_embeds is None:
                raise InvalidValueError(
                    f'guidance_scale={scale} > 1 needs negative_prompt_embeds (the '
                    'encoding of "" or of a negative prompt); encode_prompts() '
                    'returns both, or set guidance_scale=1 to sample without it')
            uncond = self._per_clip(negative_prompt_embeds, len(cond), 'negative_prompt_embeds')
        device, dtype = self._device_dtype(unet, cond[0])
        if self._autocast_auto:
            self.autocast_dtype = resolve_autocast(AUTO, f'{type(self).__name__}: '
                                                   'autocast_dtype', device=device)
        return SamplingRun(cond=cond, uncond=uncond, guidance_scale=scale, num_steps=steps,
                           device=device, dtype=dtype,
                           generator=self._generator(generator, seed, device))

    @staticmethod
    def _per_clip(embeds: Embeds, num_clips: Optional[int], name: str) -> List[torch.Tensor]:
        if isinstance(embeds, torch.Tensor):
            if embeds.dim() != 3:
                raise ValueError(f'{name} must be (B, L, D), got shape {tuple(embeds.shape)}')
            return [embeds] * (1 if num_clips is None else num_clips)
        embeds = list(embeds)
        if num_clips is not None and len(embeds) != num_clips:
            raise InvalidValueError(
                f'{name} has {len(embeds)} per-clip embeddings (a storyline) but '
                f'num_clips={num_clips}')
        if not embeds:
            raise InvalidValueError(f'{name} is empty')
        return embeds

    def _generator(self, generator, seed, device) -> Optional[torch.Generator]:
        if generator is not None and seed is not None:
            raise ValueError('pass either seed or generator, not both')
        if seed is not None:
            generator = torch.Generator(device=device).manual_seed(int(seed))
        return generator

    @staticmethod
    def _device_dtype(unet, embeds: torch.Tensor):
        params = getattr(unet, 'parameters', None)
        first = next(iter(params()), None) if callable(params) else None
        if first is not None:
            return first.device, first.dtype
        return embeds.device, embeds.dtype

    @staticmethod
    def _noise(run: 'SamplingRun', shape) -> torch.Tensor:
        """Unit noise of ``shape`` from the run's generator (on its device), in the run's
        device and dtype."""
        g = run.generator
        noise = torch.randn(shape, generator=g, device=g.device if g is not None else None)
        return noise.to(device=run.device, dtype=run.dtype)

    # -- the U-Net call -----------------------------------------------------------------------
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

    def _conditioning(self, unet, run: SamplingRun, cond: torch.Tensor,
                      uncond: Optional[torch.Tensor]):
        """The U-Net's text conditioning of one guided (or unguided) call, made once."""
        with self._autocast(run.device):
            return self._text_conditioning(unet, self._guidance_embeds(
                cond, uncond if run.guided else None, run.device, run.dtype))

    def _batched_conditioning(self, unet, run: SamplingRun, owners: tuple, cache: dict,
                              max_entries: int = 8):
        """The conditioning of a batch of windows, window w taking the prompt of clip
        ``owners[w]`` (its B videos each), made once per distinct ``owners`` and kept in
        ``cache`` (at most ``max_entries``, oldest dropped: windows move on through a
        storyline and never come back)."""
        if owners not in cache:
            cond = torch.cat([run.cond[c] for c in owners])
            uncond = torch.cat([run.uncond[c] for c in owners]) if run.guided else None
            while len(cache) >= max_entries:
                cache.pop(next(iter(cache)))
            cache[owners] = self._conditioning(unet, run, cond, uncond)
        return cache[owners]

    def _autocast(self, device):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(device).type, dtype=self.autocast_dtype)

    @staticmethod
    def _guided_eps(unet, latents: torch.Tensor, t, embeds, scale: float) -> torch.Tensor:
        """Classifier-free guidance: out_u + w (out_c - out_u), one batched U-Net call.

        ``embeds``: (2B, L, D) [uncond; cond] (or its precomputed text conditioning); ``t`` a
        scalar timestep, or (B, F) per frame."""
        # .to: under autocast the U-Net returns its lower precision; guidance and the scheduler
        # update run in the latents'
        if scale <= 1.0:
            return as_tensor(unet(latents, t, embeds)).to(latents.dtype)
        if torch.is_tensor(t) and t.ndim == 2:
            t = torch.cat([t, t])
        eps = as_tensor(unet(torch.cat([latents, latents]), t, embeds)).to(latents.dtype)
        eps_uncond, eps_cond = eps.chunk(2)
        return eps_uncond + scale * (eps_cond - eps_uncond)

    def _guided_output(self, unet, latents: torch.Tensor, t, embeds, run: SamplingRun
                       ) -> torch.Tensor:
        """The guided U-Net output at ``latents`` under the sampler's autocast."""
        with self._autocast(run.device):
            return self._guided_eps(unet, latents, t, embeds, run.guidance_scale)


class WindowedSampler(LongVideoSampler):
    """A sampler that runs the U-Net on windows of ``num_frames`` frames of a longer latent
    video (co-denoising, FIFO-Diffusion): the settings and batching they share.

    Args:
        eta: DDIM eta of every step (0: deterministic); the scheduler draws the noise once per
            frame, from the run's generator.
        windows_per_call: windows batched into one U-Net call (None: all; 1 for large models).
        others: see :class:`LongVideoSampler`.
    """

    def __init__(self, num_frames: int = 16, num_inference_steps: int = 50,
                 guidance_scale: float = 7.5, eta: float = 0.0,
                 windows_per_call: Optional[int] = None, progress: bool = True,
                 autocast_dtype=None, step_cache: Optional[dict] = None,
                 scheduler: Optional[dict] = None):
        super().__init__(num_frames=num_frames, num_inference_steps=num_inference_steps,
                         guidance_scale=guidance_scale, progress=progress,
                         autocast_dtype=autocast_dtype, step_cache=step_cache,
                         scheduler=scheduler)
        name = type(self).__name__
        if eta < 0:
            raise InvalidValueError(f'{name}: eta must be >= 0, got {eta}')
        if windows_per_call is not None and windows_per_call < 1:
            raise InvalidValueError(f'{name}: windows_per_call must be >= 1 or None, got '
                                    f'{windows_per_call}')
        self.eta, self.windows_per_call = float(eta), windows_per_call

    def _groups(self, windows: list) -> List[list]:
        """``windows`` in batches of ``windows_per_call``."""
        size = self.windows_per_call or len(windows)
        return [windows[k:k + size] for k in range(0, len(windows), size)]

    def _step_kwargs(self, run: SamplingRun) -> dict:
        """Keyword arguments of ``scheduler.step``: eta and the generator when eta > 0."""
        return dict(eta=self.eta, generator=run.generator) if self.eta > 0 else {}

    #: why the method cannot use a multistep solver (None: it can)
    multistep_refusal: Optional[str] = None

    def _check_scheduler(self, scheduler) -> None:
        """Refuse, in one line, a multistep solver the method cannot use, or eta > 0 with one
        (the solvers are deterministic ODE solvers)."""
        if not is_multistep(scheduler):
            return
        name, solver = type(self).__name__, type(scheduler).__name__
        if self.multistep_refusal:
            raise InvalidValueError(f'{name} cannot use {solver}: {self.multistep_refusal}; use '
                                    "DDIMScheduler (sampling_scheduler=dict(type='DDIMScheduler'))")
        if self.eta > 0:
            raise InvalidValueError(
                f'{name}: eta={self.eta} draws fresh noise at every step, which only '
                f'DDIMScheduler does ({solver} is a deterministic ODE solver); set '
                'eta=0 or use DDIMScheduler')


def collect_or_sink(sink: Optional[Callable[[GeneratedClip], None]]):
    """``(sink, finish)``: the given sink, or one that collects the pieces; ``finish()``
    returns the :class:`LongVideoOutput` of what was collected (None with a given sink)."""
    if sink is not None:
        return sink, lambda: None
    videos: List[torch.Tensor] = []
    latents: List[torch.Tensor] = []

    def collect(clip: GeneratedClip) -> None:
        latents.append(clip.latents)
        if clip.video is not None:
            videos.append(clip.video)

    def finish() -> LongVideoOutput:
        return LongVideoOutput(video=torch.cat(videos, dim=2) if videos else None,
                               clip_latents=torch.stack(latents))
    return collect, finish
