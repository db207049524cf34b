from . import discriminators, losses  # noqa: F401
from . import (data_preprocessors, long_video, schedulers, temporal, text_encoders,  # noqa: F401
               unets, vaes)
from .autoencoder_kl_trainer import AutoencoderKLTrainer  # noqa: F401
from .temporal_vae_finetuner import TemporalVAEFinetuner  # noqa: F401
from .vidrd_model import VidRD  # noqa: F401
