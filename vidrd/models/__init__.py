from . import (data_preprocessors, long_video, schedulers, temporal, text_encoders,  # noqa: F401
               unets, vaes)
from .vidrd_model import VidRD  # noqa: F401
