"""vidrd plugin: FreeNoise's noise rescheduling as a long-video strategy.

Importing the package registers ``FreeNoiseRescheduling`` in vidrd's ``LONG_VIDEO_STRATEGIES``;
a config enables it with ``custom_imports = dict(imports=['vidrd_freenoise'],
allow_failed_imports=False)``.
"""
from .noise_rescheduling import FreeNoiseRescheduling

__all__ = ['FreeNoiseRescheduling']
__version__ = '0.1.0'
