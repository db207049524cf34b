"""Training a (2D) KL autoencoder from scratch with LDM's objective.

The step before VidRD's temporal decoder fine-tuning when no pretrained VAE exists (the
embedded moving-shapes setup): every VAE weight trains, frames are encoded and decoded one by
one, and the loss is the one :class:`TemporalVAEFinetuner` fine-tunes with (Rombach et al. 2022,
after Esser et al. 2021):

    L = a_rec * (L1(x, x_hat) + w_p * LPIPS(x, x_hat)) + a_reg * KL(q(z|x) || N(0, I))
        + a_disc * lambda * L_GAN(D(x_hat)),

lambda measured at the decoder's output conv (LDM). The trained VAE is exported as a diffusers
``vae/`` folder, from which the temporal fine-tuning starts with zero-initialised Temp-Conv
(``PretrainedAutoencoderKL`` with ``temporal_conv=...``).
"""
from typing import Dict, List, Optional

import torch
from mmengine.model import BaseModel
from torch import nn

from vidrd.registry import MODELS

from .builder import build_module
from .losses import GAN_LOSS_TYPES
from .temporal_vae_finetuner import ModelConfig, TemporalVAEFinetuner


@MODELS.register_module()
class AutoencoderKLTrainer(TemporalVAEFinetuner):
    """Train all weights of a 2D ``AutoencoderKL`` (encoder, decoder, quant convs).

    Same arguments, data, optimisers (``generator``: the whole VAE; ``discriminator``), steps and
    ``export`` as :class:`TemporalVAEFinetuner`, with LDM's defaults for training from scratch:
    a per-frame ``PatchDiscriminator2D`` and the GAN term starting late (``disc_start_iter``),
    once reconstructions are roughly right. The VAE must not have temporal layers: they are
    added, zero-initialised, when the temporal decoder is fine-tuned afterwards.
    """

    def __init__(self, vae: ModelConfig, discriminator: Optional[ModelConfig] = dict(
                     type='PatchDiscriminator2D', base_channels=64, num_layers=3),
                 perceptual_loss: Optional[ModelConfig] = None, rec_weight: float = 1.0,
                 perceptual_weight: float = 1.0, kl_weight: float = 1e-6,
                 disc_weight: float = 0.5, disc_start_iter: int = 50_001,
                 gan_loss: str = 'hinge', adaptive_disc_weight: bool = True,
                 max_adaptive_weight: float = 1e4, sample_posterior: bool = True,
                 gradient_checkpointing: bool = False,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        # TemporalVAEFinetuner.__init__ insists on temporal layers and freezes all others;
        # here the attributes its steps read are set directly, with every VAE weight trainable
        BaseModel.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if gan_loss not in GAN_LOSS_TYPES:
            raise ValueError(f'gan_loss {gan_loss!r} not supported; use one of {GAN_LOSS_TYPES}')
        self.vae = build_module(vae, MODELS)
        if getattr(self.vae, 'has_temporal_layers', False):
            raise ValueError(
                'AutoencoderKLTrainer trains a 2D VAE; this one has decoder temporal layers. '
                'Build it with temporal_conv=None, or fine-tune only the temporal layers with '
                'TemporalVAEFinetuner')
        self.vae.requires_grad_(True)
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
        self._local_iter = 0

    def parameters_to_optimize(self) -> Dict[str, List[nn.Parameter]]:
        """``generator``: every VAE weight; ``discriminator``: all of D."""
        groups = {'generator': list(self._vae_module.parameters())}
        if self.discriminator is not None:
            groups['discriminator'] = list(self.discriminator.parameters())
        return groups

    def _last_layer_weight(self) -> torch.Tensor:
        """The decoder's output conv, where LDM measures the adaptive weight."""
        return self._vae_module.decoder.conv_out.weight
