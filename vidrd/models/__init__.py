from . import long_video, schedulers, temporal, text_encoders, unets, vaes  # noqa: F401
