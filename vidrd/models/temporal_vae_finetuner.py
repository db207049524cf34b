"""Fine-tuning VidRD's temporal-aware VAE decoder (paper Sec. 3.4).

SD's VAE decodes each frame on its own, which makes decoded videos flicker. VidRD inserts a
Temp-Conv after every decoder up-block ResNet and trains only those layers, with the
encoder and every original decoder weight frozen, on the LDM autoencoder objective:

    L = a_rec * (L1(x, x_hat) + w_p * LPIPS(x, x_hat)) + a_reg * KL(q(z|x) || N(0, I))
        + a_disc * lambda * L_GAN(D(x_hat)),

lambda the adaptive weight of Esser et al. (2021, eq. 7) taken at the last temporal conv weight
(the only trainable layer near the output), and a patch discriminator D trained alternately.
x_hat decodes all F frames of a clip together, so the temporal layers act.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import BaseDataElement
from torch import nn

from vidrd.registry import MODELS

from . import discriminators  # noqa: F401  (registers the patch discriminators)
from .builder import build_module
from .losses import GAN_LOSS_TYPES, adaptive_gan_weight, discriminator_loss, generator_loss
from vidrd.utils.errors import InvalidValueError

ModelConfig = Union[dict, nn.Module]


@MODELS.register_module()
class TemporalVAEFinetuner(BaseModel):
    """Train the temporal layers of a VAE decoder; everything else stays bit-identical.

    Args:
        vae: the temporal VAE (config or module), e.g. ``dict(type='PretrainedAutoencoderKL',
            folder='weights/sd21/vae', temporal_conv=dict(type='TemporalConv', num_layers=3))``.
            It must have decoder temporal layers (``has_temporal_layers``).
        discriminator: patch discriminator config / module (``PatchDiscriminator3D`` judges
            space-time patches, ``PatchDiscriminator2D`` single frames); ``None``: no GAN term.
        perceptual_loss: e.g. ``dict(type='LPIPSLoss', lpips_weights=..., vgg_weights=...)``
            (local files; a missing one is an error saying where to get it); ``None``: L1 only.
        rec_weight: a_rec. perceptual_weight: w_p. kl_weight: a_reg. disc_weight: a_disc.
        disc_start_iter: first iteration (0-based, the runner's ``iter``) at which the GAN term
            is added and the discriminator trains; before it, only the reconstruction trains.
        gan_loss: 'hinge' (LDM) or 'vanilla'.
        adaptive_disc_weight: scale the GAN term by lambda (else lambda = 1).
        max_adaptive_weight: clamp of lambda (LDM: 1e4).
        sample_posterior: decode z ~ q(z|x) in training (LDM) instead of its mean.
        gradient_checkpointing: recompute decoder up-blocks in the backward pass.

    Data: ``data['inputs']`` is a float video batch (B, 3, F, H, W) in [-1, 1] (mmengine's
    ``default_collate`` of ``PackVideoInputs``), a list of (3, F, H, W) tensors
    (``pseudo_collate``), or a dict holding either under ``'video'``. Training needs F >= 2
    (one frame leaves the temporal layers, and so the gradient, out of the decoder).

    Optimisers: ``train_step`` takes an ``OptimWrapperDict`` with ``generator`` (over
    :meth:`parameters_to_optimize` ``['generator']``, the temporal layers) and
    ``discriminator``; without a discriminator a single ``OptimWrapper`` also works.
    ``val_step`` / ``test_step`` return one data element per video with ``video`` (the
    reconstruction) and ``gt_video`` (the input), both (3, F, H, W) in [-1, 1].
    """

    def __init__(self, vae: ModelConfig, discriminator: Optional[ModelConfig] = dict(
                     type='PatchDiscriminator3D', base_channels=64, num_layers=3),
                 perceptual_loss: Optional[ModelConfig] = None, rec_weight: float = 1.0,
                 perceptual_weight: float = 1.0, kl_weight: float = 1e-6,
                 disc_weight: float = 0.5, disc_start_iter: int = 0, gan_loss: str = 'hinge',
                 adaptive_disc_weight: bool = True, max_adaptive_weight: float = 1e4,
                 sample_posterior: bool = True, gradient_checkpointing: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if gan_loss not in GAN_LOSS_TYPES:
            raise InvalidValueError(
                f'gan_loss {gan_loss!r} not supported; use one of {GAN_LOSS_TYPES}')
        self.vae = build_module(vae, MODELS)
        self._select_trainable(self.vae)
        self.vae.decoder.gradient_checkpointing = gradient_checkpointing
        self.discriminator = build_module(discriminator, MODELS)
        self.perceptual_loss = build_module(perceptual_loss, MODELS)
        if self.perceptual_loss is not None:
            self.perceptual_loss.requires_grad_(False)
        self.rec_weight = rec_weight
        self.perceptual_weight = perceptual_weight
        self.kl_weight = kl_weight
        self.disc_weight = disc_weight
        self.disc_start_iter = disc_start_iter
        self.gan_loss = gan_loss
        self.adaptive_disc_weight = adaptive_disc_weight
        self.max_adaptive_weight = max_adaptive_weight
        self.sample_posterior = sample_posterior
        self._local_iter = 0  # used when no runner publishes 'iter' in the MessageHub

    def _select_trainable(self, vae: nn.Module) -> None:
        """Frozen: encoder, quant convs and every original decoder weight; trainable: temp_*."""
        if not getattr(vae, 'has_temporal_layers', False):
            raise InvalidValueError(
                'TemporalVAEFinetuner needs a VAE whose decoder has temporal layers; build it '
                "with temporal_conv=dict(type='TemporalConv', num_layers=3) (SD's VAE gets "
                'zero-initialised ones) or load a vae_finetuned/ folder')
        vae.requires_grad_(False)
        for _, param in vae.temporal_parameters():
            param.requires_grad_(True)

    # --- helpers ----------------------------------------------------------------------------
    @property
    def _vae_module(self) -> nn.Module:
        return self.vae.module if is_model_wrapper(self.vae) else self.vae

    @property
    def _discriminator_module(self) -> Optional[nn.Module]:
        d = self.discriminator
        return d.module if d is not None and is_model_wrapper(d) else d

    def parameters_to_optimize(self) -> Dict[str, List[nn.Parameter]]:
        """``generator``: the decoder's temporal layers; ``discriminator``: all of D."""
        groups = {'generator': [p for _, p in self._vae_module.temporal_parameters()]}
        if self.discriminator is not None:
            groups['discriminator'] = list(self.discriminator.parameters())
        return groups

    def _last_layer_weight(self) -> torch.Tensor:
        """The last temporal conv weight in the decoder (where lambda is measured)."""
        weights = [p for _, p in self._vae_module.temporal_parameters() if p.dim() > 1]
        return weights[-1]

    def current_iter(self) -> int:
        """The runner's iteration (MessageHub ``iter``), else the steps taken by this model."""
        hub_iter = MessageHub.get_current_instance().get_info('iter')
        return int(hub_iter) if hub_iter is not None else self._local_iter

    def gan_active(self, iteration: Optional[int] = None) -> bool:
        iteration = self.current_iter() if iteration is None else iteration
        return (self.discriminator is not None and self.disc_weight > 0
                and iteration >= self.disc_start_iter)

    @staticmethod
    def video_from_inputs(inputs, min_frames: int = 1) -> torch.Tensor:
        """The (B, 3, F, H, W) float video of ``data['inputs']`` (see the class docstring)."""
        if isinstance(inputs, dict):
            if 'video' not in inputs:
                raise KeyError(f"inputs is a dict without 'video' (keys: {sorted(inputs)})")
            inputs = inputs['video']
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 5 or inputs.shape[1] != 3:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs)
            raise ValueError(f'expected a video batch (B, 3, F, H, W), got {shape}')
        if not inputs.is_floating_point():
            raise TypeError(f'expected float videos in [-1, 1], got {inputs.dtype}; normalise '
                            'them in the pipeline (NormalizeVideo before PackVideoInputs)')
        if inputs.shape[2] < min_frames:
            raise ValueError(f'clips of {inputs.shape[2]} frame(s): fine-tuning temporal layers '
                             f'needs at least {min_frames} frames per clip')
        return inputs

    def reconstruct(self, video: torch.Tensor, sample_posterior: bool = False):
        """Decode all F frames of each clip together. (B, 3, F, H, W) -> same, + posterior."""
        b, c, f, h, w = video.shape
        frames = video.transpose(1, 2).reshape(b * f, c, h, w)
        recon, posterior = self.vae(frames, num_frames=f, sample_posterior=sample_posterior)
        return recon.view(b, f, *recon.shape[1:]).transpose(1, 2), posterior

    # --- losses -----------------------------------------------------------------------------
    def generator_losses(self, video: torch.Tensor, recon: torch.Tensor, posterior,
                         use_gan: bool) -> Dict[str, torch.Tensor]:
        """Weighted terms of L (keys with 'loss' are summed by ``parse_losses``)."""
        losses = {'loss_l1': self.rec_weight * (recon - video).abs().mean()}
        if self.perceptual_loss is not None and self.perceptual_weight > 0:
            losses['loss_perceptual'] = (self.rec_weight * self.perceptual_weight
                                         * self.perceptual_loss(recon, video))
        # constant here (frozen encoder), kept so the logged objective is the paper's
        losses['loss_kl'] = self.kl_weight * posterior.kl().mean()
        if use_gan:
            # D's frozen here: call the bare module, so a DDP wrapper around D (mmengine's
            # MMSeparateDistributedDataParallel) only sees D's own update
            g_loss = generator_loss(self._discriminator_module(recon), self.gan_loss)
            weight = torch.ones((), device=recon.device)
            if self.adaptive_disc_weight and torch.is_grad_enabled():
                rec = sum(v for k, v in losses.items() if k != 'loss_kl')
                weight = adaptive_gan_weight(rec, g_loss, self._last_layer_weight(),
                                             max_weight=self.max_adaptive_weight)
            losses['loss_gan'] = self.disc_weight * weight * g_loss
            losses['adaptive_weight'] = weight  # logged, not summed
        return losses

    def discriminator_losses(self, video: torch.Tensor,
                             recon: torch.Tensor) -> Dict[str, torch.Tensor]:
        logits_real = self.discriminator(video)
        logits_fake = self.discriminator(recon.detach())
        return {'loss_disc': discriminator_loss(logits_real, logits_fake, self.gan_loss),
                'logits_real': logits_real.detach().mean(),
                'logits_fake': logits_fake.detach().mean()}

    # --- mmengine steps ---------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: Union[OptimWrapperDict, OptimWrapper]
                   ) -> Dict[str, torch.Tensor]:
        """One generator (temporal layers) update, then one discriminator update once the GAN
        term is active."""
        if isinstance(optim_wrapper, OptimWrapperDict):
            g_wrapper = optim_wrapper['generator']
            d_wrapper = optim_wrapper['discriminator'] if self.discriminator is not None else None
        else:
            if self.discriminator is not None:
                raise TypeError('with a discriminator, train_step needs an OptimWrapperDict '
                                'with "generator" and "discriminator"')
            g_wrapper, d_wrapper = optim_wrapper, None
        data = self.data_preprocessor(data, True)
        video = self.video_from_inputs(data['inputs'], min_frames=2)
        use_gan = self.gan_active()
        log_vars = {}

        if self.discriminator is not None:  # D is not updated by the generator's loss
            self._discriminator_module.requires_grad_(False)
        with g_wrapper.optim_context(self.vae):
            recon, posterior = self.reconstruct(video, self.sample_posterior)
            losses = self.generator_losses(video, recon, posterior, use_gan)
        g_loss, g_logs = self.parse_losses(losses)
        g_wrapper.update_params(g_loss)
        g_logs.pop('loss')
        log_vars.update(g_logs, loss_generator=g_loss.detach())
        if self.discriminator is not None:
            self._discriminator_module.requires_grad_(True)

        if use_gan:
            with d_wrapper.optim_context(self.discriminator):
                d_losses = self.discriminator_losses(video, recon)
            d_loss, d_logs = self.parse_losses(d_losses)
            d_wrapper.update_params(d_loss)
            d_logs.pop('loss')
            log_vars.update(d_logs)
        self._local_iter += 1
        return log_vars

    def forward(self, inputs, data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor'):
        """``mode='tensor'``: reconstructions (B, 3, F, H, W) (posterior mean);
        ``'predict'``: data elements as in :meth:`val_step`; ``'loss'``: the generator terms
        (GAN term with lambda = 1; :meth:`train_step` is the training entry)."""
        video = self.video_from_inputs(inputs)
        if mode == 'loss':
            recon, posterior = self.reconstruct(video, self.sample_posterior)
            return self.generator_losses(video, recon, posterior, self.gan_active())
        recon, _ = self.reconstruct(video)
        if mode == 'tensor':
            return recon
        if mode == 'predict':
            return self._pack(recon, video, data_samples)
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")

    def val_step(self, data: Union[dict, tuple, list]) -> List[BaseDataElement]:
        data = self.data_preprocessor(data, False)
        with torch.no_grad():
            return self(data['inputs'], data.get('data_samples'), mode='predict')

    test_step = val_step

    @staticmethod
    def _pack(recon: torch.Tensor, video: torch.Tensor,
              data_samples: Optional[Sequence[BaseDataElement]]) -> List[BaseDataElement]:
        out = []
        for i in range(video.shape[0]):
            sample = data_samples[i] if data_samples is not None else BaseDataElement()
            sample.video = recon[i].detach()
            sample.gt_video = video[i]
            out.append(sample)
        return out

    # --- export -----------------------------------------------------------------------------
    def export(self, folder: str, legacy_attention_names: bool = True) -> None:
        """Write the fine-tuned VAE in the release's ``vae_finetuned/`` layout
        (``config.json`` with ``TemporalAutoencoderKL`` / ``add_temp_conv`` + safetensors).
        Legacy attention names by default, so the original code (diffusers 0.14) reads it too;
        ``AutoencoderKL.from_pretrained`` reads both."""
        self._vae_module.save_pretrained(folder, legacy_attention_names=legacy_attention_names)
