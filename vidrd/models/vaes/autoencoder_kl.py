"""Stable Diffusion's KL-regularised VAE, with VidRD's optional temporal decoder.

Latents of a video (paper Sec. 3.1): z = E(x) * 0.18215, computed frame by frame. Decoding with
the temporal decoder (Sec. 3.4) passes the frame count so its Temp-Conv layers mix the frames
of each video; the original inference code decodes frame by frame, which bypasses them.
"""
import copy
import os.path as osp
from typing import Iterator, Optional, Sequence, Tuple

import torch
from einops import rearrange
from torch import nn

from vidrd.registry import MODELS
from vidrd.utils.checkpoint import (LoadReport, find_weights_file, load_into, load_state_dict,
                                    save_state_dict_atomic)
from vidrd.utils.logging import get_logger

from .distribution import DiagonalGaussian
from .encoder_decoder import Encoder, TemporalDecoder
from .pretrained import (VAE_WEIGHTS_HINT, WEIGHTS_NAME, WEIGHTS_NAMES,
                         check_not_ldm_layout, convert_legacy_attention_keys, read_vae_config,
                         to_legacy_attention_keys, write_vae_config)


def is_temporal_key(name: str) -> bool:
    """Temporal parameters are the ones whose name contains ``temp_`` (original convention)."""
    return 'temp_' in name


@MODELS.register_module()
class AutoencoderKL(nn.Module):
    """SD-shaped VAE: ``encoder``, ``quant_conv``, ``post_quant_conv``, ``decoder``.

    Parameter names equal diffusers' ``AutoencoderKL``; the decoder's temporal layers are named
    ``decoder.up_blocks.i.temp_convs.j.*`` like the VidRD release.

    Args:
        in_channels, out_channels, down_block_types, up_block_types, block_out_channels,
        layers_per_block, act_fn, latent_channels, norm_num_groups, sample_size,
        mid_block_add_attention, use_quant_conv, use_post_quant_conv: as in diffusers' config.
        scaling_factor: latents of the diffusion model are ``(z - shift_factor) *
            scaling_factor`` (SD-2.1: 0.18215, no shift).
        shift_factor: ``None`` (SD) or a float.
        temporal_conv: config of a ``TEMPORAL_LAYERS`` entry put after every decoder up-block
            ResNet (``in_channels`` filled in), e.g. ``dict(type='TemporalConv', num_layers=3)``
            (VidRD); ``None`` for the plain SD VAE.

    Shapes: ``encode(x (N, 3, H, W))``, ``decode(z (N, 4, h, w), num_frames)`` with N = B*F and
    each video's frames consecutive; ``encode_video`` / ``decode_video`` on (B, C, F, H, W).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3,
                 down_block_types: Sequence[str] = ('DownEncoderBlock2D',),
                 up_block_types: Sequence[str] = ('UpDecoderBlock2D',),
                 block_out_channels: Sequence[int] = (64,), layers_per_block: int = 1,
                 act_fn: str = 'silu', latent_channels: int = 4, norm_num_groups: int = 32,
                 sample_size: int = 32, scaling_factor: float = 0.18215,
                 shift_factor: Optional[float] = None, mid_block_add_attention: bool = True,
                 use_quant_conv: bool = True, use_post_quant_conv: bool = True,
                 temporal_conv: Optional[dict] = None):
        super().__init__()
        self.config = dict(
            in_channels=in_channels, out_channels=out_channels,
            down_block_types=tuple(down_block_types), up_block_types=tuple(up_block_types),
            block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
            act_fn=act_fn, latent_channels=latent_channels, norm_num_groups=norm_num_groups,
            sample_size=sample_size, scaling_factor=scaling_factor, shift_factor=shift_factor,
            mid_block_add_attention=mid_block_add_attention, use_quant_conv=use_quant_conv,
            use_post_quant_conv=use_post_quant_conv,
            temporal_conv=copy.deepcopy(dict(temporal_conv)) if temporal_conv else None)
        self.scaling_factor = scaling_factor
        self.shift_factor = shift_factor
        self.encoder = Encoder(in_channels, latent_channels, down_block_types, block_out_channels,
                               layers_per_block, norm_num_groups, act_fn,
                               mid_block_add_attention)
        self.quant_conv = (nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
                           if use_quant_conv else None)
        self.post_quant_conv = (nn.Conv2d(latent_channels, latent_channels, 1)
                                if use_post_quant_conv else None)
        self.decoder = TemporalDecoder(latent_channels, out_channels, up_block_types,
                                       block_out_channels, layers_per_block, norm_num_groups,
                                       act_fn, mid_block_add_attention,
                                       self.config['temporal_conv'])

    # --- per-frame API ----------------------------------------------------------------------
    @property
    def has_temporal_layers(self) -> bool:
        return self.decoder.has_temporal_layers

    @property
    def spatial_compression(self) -> int:
        """Pixels per latent along H and W (SD: 8)."""
        return 2 ** (len(self.config['block_out_channels']) - 1)

    def temporal_parameters(self) -> Iterator[Tuple[str, nn.Parameter]]:
        """(name, parameter) of the decoder's temporal layers, the only ones VidRD fine-tunes."""
        return ((n, p) for n, p in self.named_parameters() if is_temporal_key(n))

    def export_config(self, folder: str) -> dict:
        """A config that rebuilds this architecture from no file (weights come separately)."""
        return dict(type='AutoencoderKL', **copy.deepcopy(self.config))

    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        """Posterior q(z|x) of images / frames ``x`` (N, C_in, H, W) in [-1, 1]."""
        if x.dim() != 4 or x.shape[1] != self.config['in_channels']:
            raise ValueError(f'encode expects (N, {self.config["in_channels"]}, H, W) frames, '
                             f'got {tuple(x.shape)}; use encode_video for (B, C, F, H, W)')
        moments = self.encoder(x)
        if self.quant_conv is not None:
            moments = self.quant_conv(moments)
        return DiagonalGaussian(moments)

    def decode(self, z: torch.Tensor, num_frames: int = 1) -> torch.Tensor:
        """Frames (N, C_out, H, W) from unscaled latents ``z`` (N, latent_channels, h, w).

        N = B * ``num_frames``, the frames of each video consecutive; the temporal layers act
        across the ``num_frames`` frames of each video (``num_frames=1``: frame by frame, the
        original inference behaviour, equal to the plain SD decoder).
        """
        if z.dim() != 4 or z.shape[1] != self.config['latent_channels']:
            raise ValueError(f'decode expects (N, {self.config["latent_channels"]}, h, w) latents, '
                             f'got {tuple(z.shape)}; use decode_video for (B, C, F, h, w)')
        if num_frames < 1 or z.shape[0] % num_frames:
            raise ValueError(f'{z.shape[0]} latents cannot be split into videos of '
                             f'num_frames={num_frames}')
        if self.post_quant_conv is not None:
            z = self.post_quant_conv(z)
        return self.decoder(z, num_frames)

    def forward(self, x: torch.Tensor, num_frames: int = 1, sample_posterior: bool = False,
                generator: Optional[torch.Generator] = None
                ) -> Tuple[torch.Tensor, DiagonalGaussian]:
        """Reconstruction (N, C, H, W) of frames ``x`` (N, C, H, W) and the posterior."""
        posterior = self.encode(x)
        z = posterior.sample(generator) if sample_posterior else posterior.mode()
        return self.decode(z, num_frames), posterior

    # --- video API --------------------------------------------------------------------------
    def encode_video(self, video: torch.Tensor, sample: bool = True,
                     generator: Optional[torch.Generator] = None,
                     chunk_size: Optional[int] = None) -> torch.Tensor:
        """Diffusion latents ``(E(x) - shift) * scaling_factor`` of ``video`` (B, C, F, H, W).

        Args:
            sample: draw z from the posterior (SD training); ``False`` takes its mean.
            chunk_size: encode at most this many frames at once (memory); the encoder is per
                frame, so chunking does not change the mean.

        Returns: (B, latent_channels, F, h, w).
        """
        if video.dim() != 5 or video.shape[1] != self.config['in_channels']:
            raise ValueError(
                f'encode_video expects (B, {self.config["in_channels"]}, F, H, W), got '
                f'{tuple(video.shape)}; a (B, F, C, H, W) video needs .permute(0, 2, 1, 3, 4)')
        b, c, f, h, w = video.shape
        frames = rearrange(video, 'b c f h w -> (b f) c h w')
        step = chunk_size or frames.shape[0]
        latents = []
        for start in range(0, frames.shape[0], step):
            posterior = self.encode(frames[start:start + step])
            latents.append(posterior.sample(generator) if sample else posterior.mode())
        z = torch.cat(latents)
        if self.shift_factor is not None:
            z = z - self.shift_factor
        z = z * self.scaling_factor
        return rearrange(z, '(b f) c h w -> b c f h w', f=f)

    @torch.no_grad()
    def encode_video_moments(self, video: torch.Tensor) -> torch.Tensor:
        """Posterior moments (B, 2C, F, h, w) of ``video`` (B, C_in, F, H, W): the mean on the
        first C channels, the clamped log-variance on the last C, unscaled, in float32 whatever
        the VAE's dtype. What a latent cache stores; :meth:`latents_from_moments` draws z0."""
        b, c, f, h, w = video.shape
        param = next(self.parameters())
        frames = video.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w).to(param.dtype)
        posterior = self.encode(frames)
        moments = torch.cat([posterior.mean, posterior.logvar], dim=1).float()
        return moments.view(b, f, *moments.shape[1:]).permute(0, 2, 1, 3, 4)

    def latents_from_moments(self, moments: torch.Tensor, sample: bool = True,
                             generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Scaled diffusion latents (B, C, F, h, w) from posterior ``moments`` (B, 2C, F, h, w).

        Draws exactly what :meth:`encode_video` draws for the same video and generator (noise
        of shape (B*F, C, h, w), frames of a video consecutive), so training from cached
        moments sees the same z0 as training from the videos.
        """
        b, c2, f, h, w = moments.shape
        posterior = DiagonalGaussian(moments.permute(0, 2, 1, 3, 4).reshape(b * f, c2, h, w))
        z = posterior.sample(generator) if sample else posterior.mode()
        if self.shift_factor is not None:
            z = z - self.shift_factor
        z = z * self.scaling_factor
        return z.view(b, f, *z.shape[1:]).permute(0, 2, 1, 3, 4)

    def decode_video(self, latents: torch.Tensor,
                     chunk_size: Optional[int] = None) -> torch.Tensor:
        """Video (B, C_out, F, H, W) from diffusion latents (B, latent_channels, F, h, w).

        Divides by ``scaling_factor`` (and adds the shift) and decodes with ``num_frames=F``,
        so temporal layers see each whole video. ``chunk_size`` bounds the frames decoded at
        once: without temporal layers, any chunk of frames; with them, whole videos only
        (``max(1, chunk_size // F)`` videos per call), since splitting a video would change it.
        """
        if latents.dim() != 5 or latents.shape[1] != self.config['latent_channels']:
            raise ValueError(f'decode_video expects (B, {self.config["latent_channels"]}, F, h, w) '
                             f'latents, got {tuple(latents.shape)}')
        b, c, f, h, w = latents.shape
        z = latents / self.scaling_factor
        if self.shift_factor is not None:
            z = z + self.shift_factor
        z = rearrange(z, 'b c f h w -> (b f) c h w')
        if self.has_temporal_layers:
            step = f * max(1, (chunk_size or b * f) // f)
            frames = [self.decode(z[s:s + step], num_frames=f) for s in range(0, b * f, step)]
        else:
            step = chunk_size or b * f
            frames = [self.decode(z[s:s + step], num_frames=1) for s in range(0, b * f, step)]
        x = torch.cat(frames)
        return rearrange(x, '(b f) c h w -> b c f h w', f=f)

    # --- folders ----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str, trust_pickle: bool = False, strict: bool = True,
                        **overrides) -> 'AutoencoderKL':
        """Build from a diffusers ``vae/`` or the release's ``vae_finetuned/`` folder.

        ``overrides`` replace config entries, e.g. ``temporal_conv=dict(type='TemporalConv',
        num_layers=3)`` to add zero-initialised temporal layers to SD's VAE, or
        ``temporal_conv=None`` to load only the 2D part of a temporal VAE. Temporal layers the
        folder lacks keep their (zero) init; anything else missing, unexpected or wrong-shaped
        is an error naming the keys (``strict=False`` only logs it).
        """
        config = read_vae_config(folder)
        unknown = sorted(set(overrides) - set(cls._config_keys()))
        if unknown:
            raise TypeError(f'unknown AutoencoderKL arguments {unknown}; '
                            f'known: {sorted(cls._config_keys())}')
        config.update(overrides)
        model = cls(**config)
        path = find_weights_file(folder, WEIGHTS_NAMES, VAE_WEIGHTS_HINT)
        state_dict = load_state_dict(path, trust_pickle=trust_pickle, hint=VAE_WEIGHTS_HINT)
        drop_temporal = 'temporal_conv' in overrides and not overrides['temporal_conv']
        model.load_weights(state_dict, source=path, strict=strict, ignore_temporal=drop_temporal)
        return model

    @classmethod
    def _config_keys(cls) -> Tuple[str, ...]:
        import inspect
        return tuple(inspect.signature(cls.__init__).parameters)[1:]

    def load_weights(self, state_dict, source: str, strict: bool = True,
                     ignore_temporal: bool = False) -> LoadReport:
        """Load a diffusers-layout state dict (legacy attention names accepted).

        ``ignore_temporal``: drop the checkpoint's temporal weights (with a warning) instead of
        reporting them as unexpected, for a VAE built without temporal layers on purpose.
        """
        check_not_ldm_layout(state_dict, source)
        state_dict, renamed = convert_legacy_attention_keys(state_dict)
        log = get_logger()
        if renamed:
            log.info(f'{source}: renamed {renamed} legacy attention keys (query/key/value/'
                     'proj_attn -> to_q/to_k/to_v/to_out.0)')
        if ignore_temporal and not self.has_temporal_layers:
            dropped = [k for k in state_dict if is_temporal_key(k)]
            if dropped:
                log.warning(f'{source}: ignoring {len(dropped)} temporal weights because this '
                            'VAE has temporal_conv=None (decoding frame by frame)')
                state_dict = {k: v for k, v in state_dict.items() if not is_temporal_key(k)}
        report = load_into(self, state_dict, source, strict=strict,
                           allow_missing=('temp_',) if self.has_temporal_layers else ())
        if self.has_temporal_layers:
            n_temporal = sum(1 for k in report.loaded if is_temporal_key(k))
            if n_temporal == 0:
                log.info(f'{source}: no temporal weights; decoder temporal layers keep their '
                         'zero init (decodes like the plain SD VAE until fine-tuned)')
        return report

    def save_pretrained(self, folder: str, legacy_attention_names: bool = False) -> None:
        """Write ``config.json`` + ``diffusion_pytorch_model.safetensors`` (atomic).

        The layout is the release's ``vae_finetuned/`` (``TemporalAutoencoderKL``,
        ``add_temp_conv``) with temporal layers, diffusers' ``vae/`` without.
        ``legacy_attention_names=True`` writes diffusers-0.14 attention names so the original
        VidRD code can read the folder too (current diffusers and vidrd read both).
        """
        state_dict = {k: v.detach() for k, v in self.state_dict().items()}
        if legacy_attention_names:
            state_dict = to_legacy_attention_keys(state_dict)
        save_state_dict_atomic(state_dict, osp.join(folder, WEIGHTS_NAME),
                               metadata={'format': 'pt'})
        write_vae_config(self.config, folder)
        get_logger().info(f'saved {type(self).__name__} ({len(state_dict)} tensors) to {folder}')



@MODELS.register_module('PretrainedAutoencoderKL')
def build_pretrained_autoencoder_kl(folder: str, trust_pickle: bool = False, strict: bool = True,
                                    **overrides) -> AutoencoderKL:
    """Config entry for a VAE read from a folder (:meth:`AutoencoderKL.from_pretrained`).

    Example: ``vae=dict(type='PretrainedAutoencoderKL', folder='weights/sd21/vae',
    temporal_conv=dict(type='TemporalConv', num_layers=3))`` gives SD-2.1's VAE with fresh
    (zero-init) temporal layers; ``folder='weights/vidrd/vae_finetuned'`` the released one.
    """
    return AutoencoderKL.from_pretrained(folder, trust_pickle=trust_pickle, strict=strict,
                                         **overrides)
