from .gan_loss import (GAN_LOSS_TYPES, adaptive_gan_weight, discriminator_loss,
                       generator_loss)
from .perceptual_loss import LPIPS_HINT, LPIPSLoss

__all__ = ['LPIPSLoss', 'LPIPS_HINT', 'GAN_LOSS_TYPES', 'adaptive_gan_weight',
           'discriminator_loss', 'generator_loss']
