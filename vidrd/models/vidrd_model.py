"""VidRD: the text-to-video latent diffusion model of "Reuse and Diffuse" (arXiv 2309.03549)."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import nn

from vidrd.registry import DIFFUSION_SCHEDULERS, MODELS
from vidrd.utils.errors import InvalidValueError, check_value
from vidrd.utils.logging import get_logger
from vidrd.utils.precision import resolve_autocast, resolve_precision

from .builder import build_module
from .long_video.prompt_encoding import encode_prompts
from .unets import is_temporal_key

#: names of the parameter groups a config can make trainable (``trainable=...``)
PARAMETER_GROUPS = {
    'temporal': lambda name: is_temporal_key(name),
    'transformer_blocks': lambda name: '.transformer_blocks.' in name,
    'attentions': lambda name: '.attentions.' in name,
    'all': lambda name: True,
}


@MODELS.register_module()
class VidRD(BaseModel):
    """Text-to-video latent diffusion with a frozen VAE and text encoder (VidRD Sec. 3).

    Training (``mode='loss'``): videos (B, 3, F, H, W) in [-1, 1] are encoded by the frozen VAE
    to scaled latents z0 (B, C, F, h, w), captions by the frozen text encoder (each dropped to
    "" with probability ``caption_dropout`` for classifier-free guidance); t ~ U{0..T-1},
    z_t = sqrt(a_t) z0 + sqrt(1 - a_t) eps, and the U-Net regresses the schedule's target
    (eps, v or z0): L = ||unet(z_t, t, c) - target||^2.

    Generation (``mode='predict'``): the ``long_video_sampler`` (Reuse and Diffuse, Sec. 3.3)
    with ``num_clips`` clips; one clip is plain text-to-video sampling.

    Args:
        unet / vae / text_encoder: configs (or built modules) of the components.
        noise_schedule: the training schedule (``DDPMNoiseSchedule``); its ``prediction_type``
            is also the sampler's.
        sampling_scheduler: the sampling scheduler (``DDIMScheduler``), same betas.
        trainable: parameter groups of the U-Net that train (``PARAMETER_GROUPS``); everything
            else, the VAE and the text encoder are frozen and kept in eval mode. The paper trains
            the temporal layers and the spatial transformer blocks.
        caption_dropout: probability of replacing a caption by "" in training.
        long_video_sampler: config of the sampler used by ``predict``; without a ``type``, its
            entries edit a one-clip ``ReuseAndDiffuseSampler`` of ``num_frames``.
        num_clips: clips generated per sample in ``predict``.
        num_frames / resolution: size of generated clips (frames, (H, W) in pixels) when a
            batch carries no video to copy the size from.
        negative_prompt: the unconditional prompt of classifier-free guidance.
        seed: base seed of generation; sample k of a batch uses ``seed + index``.
        frozen_dtype: keep the frozen VAE and text encoder in this precision (``'bf16'`` /
            ``'fp16'`` / ``'fp32'``, torch's names or dtypes: ``vidrd.utils.precision``; None:
            as loaded, float32) to save memory; their outputs are cast back to float32, so only
            the frozen parts' arithmetic changes.
        per_frame_noise: training for continuation (Diffusion Forcing, Chen et al. 2024): with
            ``dict(probability=p, min_timestep=t_min)`` a training video is, with probability
            p, noised with an independent timestep per frame instead of one per video, each at
            least ``t_min`` (a noise floor: frames given almost clean would teach the model to
            copy a clean neighbour instead of following it). The U-Net then learns to denoise
            frames next to frames of other noise levels, what FIFO-Diffusion's queue and
            replacement sampling show it. None (default): the paper's training, unchanged.

    Cached inputs: ``inputs`` may be ``dict(latent_moments=(B, 2C, F, h, w),
    text_embedding=(B, L, D))`` from a latent cache (``tools/cache_latents.py``) instead of
    videos: z0 is then drawn from the cached posterior with the same per-sample generator, and a
    dropped caption takes the cache's ``negative_embedding`` (``data_samples[k]``), so the loss
    equals the one computed from the videos.
    """

    def __init__(self, unet: Union[dict, nn.Module], vae: Union[dict, nn.Module],
                 text_encoder: Union[dict, nn.Module], noise_schedule: dict,
                 sampling_scheduler: Optional[dict] = None,
                 trainable: Sequence[str] = ('temporal', 'transformer_blocks'),
                 caption_dropout: float = 0.1,
                 long_video_sampler: Optional[dict] = None, num_clips: int = 1,
                 num_frames: int = 16, resolution: Sequence[int] = (256, 256),
                 negative_prompt: str = '', seed: int = 0,
                 frozen_dtype: Optional[str] = None,
                 per_frame_noise: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        # precisions checked before the components load (seconds to minutes at SD-2.1 size)
        frozen_dtype = resolve_precision(frozen_dtype, 'VidRD: frozen_dtype')
        resolve_autocast(dict(long_video_sampler or {}).get('autocast_dtype'),
                         'VidRD: long_video_sampler.autocast_dtype')
        # built from our registry: outside a Runner mmengine would look in its own scope
        super().__init__(data_preprocessor=build_module(
            data_preprocessor or dict(type='VideoDataPreprocessor')), init_cfg=init_cfg)
        self.unet = build_module(unet)
        self.vae = build_module(vae)
        self.text_encoder = build_module(text_encoder)
        self.noise_schedule = DIFFUSION_SCHEDULERS.build(noise_schedule)
        sampling_scheduler = dict(sampling_scheduler or dict(type='DDIMScheduler'))
        sampling_scheduler.setdefault('prediction_type', self.noise_schedule.prediction_type)
        self.sampling_scheduler = DIFFUSION_SCHEDULERS.build(sampling_scheduler)
        if self.sampling_scheduler.prediction_type != self.noise_schedule.prediction_type:
            raise InvalidValueError(
                f'sampling_scheduler.prediction_type={self.sampling_scheduler.prediction_type!r} '
                f'differs from noise_schedule.prediction_type='
                f'{self.noise_schedule.prediction_type!r}: the sampler must read the output the '
                'U-Net was trained to produce')
        if not 0.0 <= caption_dropout <= 1.0:
            raise InvalidValueError(f'caption_dropout must be in [0, 1], got {caption_dropout}')
        self.caption_dropout = caption_dropout
        sampler_cfg = copy.deepcopy(dict(long_video_sampler or {}))
        if 'type' not in sampler_cfg:  # e.g. only a tool's --amp: the default sampler with it
            sampler_cfg = dict(dict(type='ReuseAndDiffuseSampler', num_frames=num_frames,
                                    num_prompt_frames=0, strategies=[]), **sampler_cfg)
        self.sampler = MODELS.build(sampler_cfg)
        check_value(num_clips >= 1, f'VidRD: num_clips must be >= 1, got {num_clips}')
        check_value(num_frames >= 1, f'VidRD: num_frames must be >= 1, got {num_frames}')
        factor = getattr(self.vae, 'spatial_compression', 1)
        check_value(len(resolution) == 2 and all(r > 0 and r % factor == 0 for r in resolution),
                    f'VidRD: resolution {tuple(resolution)} must be (H, W), positive multiples '
                    f'of the VAE\'s downsampling factor {factor}')
        self.num_clips = num_clips
        self.num_frames = num_frames
        self.resolution = tuple(resolution)
        self.negative_prompt = negative_prompt
        self.seed = seed
        self.trainable = tuple(trainable)
        self.per_frame_noise = self._check_per_frame_noise(per_frame_noise)
        self._freeze()
        if frozen_dtype is not None:
            self.vae.to(frozen_dtype)
            self.text_encoder.to(frozen_dtype)

    def _check_per_frame_noise(self, cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        cfg = dict(cfg)
        unknown = set(cfg) - {'probability', 'min_timestep'}
        check_value(not unknown and 'probability' in cfg,
                    f'VidRD: per_frame_noise takes probability and min_timestep, got {cfg}')
        p, floor = float(cfg['probability']), int(cfg.get('min_timestep', 0))
        steps = self.noise_schedule.num_train_timesteps
        check_value(0.0 <= p <= 1.0, f'VidRD: per_frame_noise.probability must be in [0, 1], '
                    f'got {p}')
        check_value(0 <= floor < steps, f'VidRD: per_frame_noise.min_timestep must be in '
                    f'[0, {steps}), got {floor}')
        return dict(probability=p, min_timestep=floor)

    def _training_timesteps(self, generators: List[torch.Generator], num_frames: int,
                            device) -> torch.Tensor:
        """One timestep per video (B,), or with ``per_frame_noise`` a (B, F) table in which
        the drawn videos have one timestep per frame."""
        t = torch.cat([self.noise_schedule.sample_timesteps(1, generator=g) for g in generators])
        if self.per_frame_noise is None:
            return t.to(device)
        rows = []
        for g, t_video in zip(generators, t):
            if torch.rand(1, generator=g).item() < self.per_frame_noise['probability']:
                frames = self.noise_schedule.sample_timesteps(num_frames, generator=g)
                rows.append(frames.clamp(min=self.per_frame_noise['min_timestep']))
            else:
                rows.append(t_video.repeat(num_frames))
        return torch.stack(rows).to(device)

    # ------------------------------------------------------------------ trainable subset
    def _freeze(self) -> None:
        unknown = set(self.trainable) - set(PARAMETER_GROUPS)
        if unknown:
            raise InvalidValueError(f'trainable: unknown group(s) {sorted(unknown)}; '
                                    f'choose from {sorted(PARAMETER_GROUPS)}')
        for module in (self.vae, self.text_encoder):
            module.requires_grad_(False).eval()
        count = 0
        for name, param in self.unet.named_parameters():
            param.requires_grad_(any(PARAMETER_GROUPS[g](name) for g in self.trainable))
            count += param.numel() if param.requires_grad else 0
        total = sum(p.numel() for p in self.parameters())
        get_logger().info(f'VidRD: {count:,} of {total:,} parameters train '
                          f'(U-Net groups {list(self.trainable)}); VAE and text encoder frozen')

    def train(self, mode: bool = True) -> 'VidRD':
        super().train(mode)
        # frozen components stay in eval mode (no dropout, fixed norms)
        self.vae.eval()
        self.text_encoder.eval()
        return self

    def trainable_state_dict(self) -> Dict[str, torch.Tensor]:
        """The parameters that training changes (what our checkpoints store)."""
        return {n: p.detach() for n, p in self.named_parameters() if p.requires_grad}

    # ------------------------------------------------------------------ mmengine API
    def forward(self, inputs: Optional[torch.Tensor] = None, data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.encode_videos(inputs)
        raise ValueError(f'VidRD.forward: unknown mode {mode!r} (loss, predict or tensor)')

    @torch.no_grad()
    def encode_videos(self, videos: torch.Tensor,
                      generators: Optional[List[torch.Generator]] = None) -> torch.Tensor:
        """Scaled VAE latents (B, C, F, h, w) of videos (B, 3, F, H, W) in [-1, 1], sampled from
        the posterior; with ``generators``, video k draws from ``generators[k]``."""
        if hasattr(self.vae, 'encode_video_moments'):  # draws what encode_video draws
            return self.latents_from_moments(self.vae.encode_video_moments(videos), generators)
        dtype = next(self.vae.parameters(), videos).dtype
        if generators is None:
            return self.vae.encode_video(videos.to(dtype)).float()
        return torch.cat([self.vae.encode_video(videos[k:k + 1].to(dtype), generator=g)
                          for k, g in enumerate(generators)]).float()

    def latents_from_moments(self, moments: torch.Tensor,
                             generators: Optional[List[torch.Generator]] = None) -> torch.Tensor:
        """Scaled latents (B, C, F, h, w) drawn from posterior moments (B, 2C, F, h, w)."""
        if generators is None:
            return self.vae.latents_from_moments(moments)
        return torch.cat([self.vae.latents_from_moments(moments[k:k + 1], generator=g)
                          for k, g in enumerate(generators)])

    @torch.no_grad()
    def encode_text(self, captions: List[str]) -> torch.Tensor:
        """Text-encoder conditioning (B, L, D) of captions, float32."""
        return self.text_encoder.encode(list(captions)).float()

    def _sample_generators(self, data_samples: list) -> List[torch.Generator]:
        """One CPU generator per sample, seeded by (seed, iteration, dataset index).

        The noise, timestep and caption dropout of a sample then depend on neither the batch
        it falls in nor the process that draws it: a 2-process run sees the same draws as one
        process with the same global batch, and a resumed run the same as an uninterrupted one.
        """
        iteration = MessageHub.get_current_instance().get_info('iter', 0)
        generators = []
        for k, sample in enumerate(data_samples):
            index = sample.metainfo.get('sample_idx', get_rank() * len(data_samples) + k)
            seed = ((self.seed * 1_000_003 + iteration) * 1_000_033 + int(index)) % (2 ** 63)
            generators.append(torch.Generator().manual_seed(seed))
        return generators

    def loss(self, videos: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        if videos is None:
            raise ValueError('VidRD.loss needs videos (or cached latents) in data["inputs"]')
        generators = self._sample_generators(data_samples)
        cached = isinstance(videos, dict)
        if cached:
            latents = self.latents_from_moments(videos['latent_moments'].float(), generators)
        else:
            latents = self.encode_videos(videos, generators)
        drop = [False] * len(data_samples)
        if self.caption_dropout > 0:
            drop = [torch.rand(1, generator=g).item() < self.caption_dropout for g in generators]
        if cached:
            context = torch.stack([s.negative_embedding if d else e for s, d, e in zip(
                data_samples, drop, videos['text_embedding'])]).to(latents)
        else:
            captions = [self.negative_prompt if d else s.caption
                        for s, d in zip(data_samples, drop)]
            context = self.encode_text(captions)
        noise = torch.stack([torch.randn(latents.shape[1:], generator=g) for g in generators])
        noise = noise.to(latents)
        t = self._training_timesteps(generators, latents.shape[2], latents.device)
        noisy = self.noise_schedule.add_noise(latents, noise, t)
        prediction = self.unet(noisy, t, context)
        target = self.noise_schedule.training_target(latents, noise, t)
        return dict(loss_diffusion=F.mse_loss(prediction.float(), target.float()))

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], num_clips: Optional[int] = None,
                 resolution: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                 sampler=None, **sampler_kwargs) -> torch.Tensor:
        """Videos (B, 3, num_clips * N, H, W) in [-1, 1] for ``prompts`` (one per video), N
        frames per clip (the sampler's ``num_frames``; fewer if it drops prompt frames).
        ``sampler``: a built long-video sampler to use instead of the model's own (an
        ablation row)."""
        height, width = resolution or self.resolution
        factor = self.vae.spatial_compression
        cond, uncond = encode_prompts(self.text_encoder, list(prompts), self.negative_prompt)
        cond, uncond = cond.float(), uncond.float()
        vae_dtype = next(self.vae.parameters(), cond).dtype
        latent_channels = self.vae.config['latent_channels']
        out = (sampler or self.sampler).sample(
            self.unet, self.sampling_scheduler, cond, uncond,
            latent_shape=(latent_channels, height // factor, width // factor),
            num_clips=num_clips or self.num_clips,
            seed=self.seed if seed is None else seed,
            decode_fn=lambda z: self.vae.decode_video(z.to(vae_dtype)).float(),
            **sampler_kwargs)
        return out.video.clamp(-1, 1)

    @torch.no_grad()
    def predict(self, videos: Optional[torch.Tensor], data_samples: list) -> list:
        """Generate one video per data sample from its caption; set ``sample.video``
        (3, F, H, W) in [-1, 1] (and ``gt_video`` from the batch's real video, if any)."""
        if videos is not None and self.num_clips == 1 and videos.shape[2] != self.sampler.num_frames:
            get_logger().warning(f'generating {self.sampler.num_frames} frames per clip; the real '
                                 f'videos have {videos.shape[2]}')
        resolution = tuple(videos.shape[-2:]) if videos is not None else self.resolution
        first = data_samples[0].metainfo.get('sample_idx', 0) if data_samples else 0
        generated = self.generate([s.caption for s in data_samples], resolution=resolution,
                                  seed=self.seed + int(first))
        for k, sample in enumerate(data_samples):
            sample.video = generated[k].cpu()
            if videos is not None:
                sample.gt_video = videos[k].cpu()
        return data_samples
