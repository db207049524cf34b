from .autoencoder_kl import AutoencoderKL, build_pretrained_autoencoder_kl, is_temporal_key
from .distribution import DiagonalGaussian
from .encoder_decoder import Encoder, TemporalDecoder
from .pixel_shuffle_autoencoder import PixelShuffleAutoencoder
from .pretrained import VAE_WEIGHTS_HINT, VIDRD_TEMPORAL_CONV

__all__ = ['AutoencoderKL', 'PixelShuffleAutoencoder', 'DiagonalGaussian', 'Encoder',
           'TemporalDecoder',
           'VIDRD_TEMPORAL_CONV', 'VAE_WEIGHTS_HINT', 'build_pretrained_autoencoder_kl',
           'is_temporal_key']
