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
from torch import nn

from vidrd.registry import MODELS

from .temporal_vae_finetuner import ModelConfig, TemporalVAEFinetuner
from vidrd.utils.errors import InvalidValueError


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
                 disc_start_iter: int = 50_001, **kwargs):
        super().__init__(vae, discriminator=discriminator, disc_start_iter=disc_start_iter,
                         **kwargs)

    def _select_trainable(self, vae: nn.Module) -> None:
        """Every VAE weight trains; the VAE must be 2D."""
        if getattr(vae, 'has_temporal_layers', False):
            raise InvalidValueError(
                'AutoencoderKLTrainer trains a 2D VAE; this one has decoder temporal layers. '
                'Build it with temporal_conv=None, or fine-tune only the temporal layers with '
                'TemporalVAEFinetuner')
        vae.requires_grad_(True)

    def parameters_to_optimize(self) -> Dict[str, List[nn.Parameter]]:
        """``generator``: every VAE weight; ``discriminator``: all of D."""
        groups = {'generator': list(self._vae_module.parameters())}
        if self.discriminator is not None:
            groups['discriminator'] = list(self.discriminator.parameters())
        return groups

    def _last_layer_weight(self) -> torch.Tensor:
        """The decoder's output conv, where LDM measures the adaptive weight."""
        return self._vae_module.decoder.conv_out.weight
