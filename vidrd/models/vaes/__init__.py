from .autoencoder_kl import AutoencoderKL, is_temporal_key
from .distribution import DiagonalGaussian
from .encoder_decoder import Encoder, TemporalDecoder
from .pretrained import VAE_WEIGHTS_HINT, VIDRD_TEMPORAL_CONV

__all__ = ['AutoencoderKL', 'DiagonalGaussian', 'Encoder', 'TemporalDecoder',
           'VIDRD_TEMPORAL_CONV', 'VAE_WEIGHTS_HINT', 'is_temporal_key']
