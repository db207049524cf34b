"""vidrd plugin: an AnimateDiff-style motion module as a temporal layer.

Importing the package registers ``AnimateDiffMotionModule`` in vidrd's ``TEMPORAL_LAYERS``; a
config enables it with ``custom_imports = dict(imports=['vidrd_animatediff'],
allow_failed_imports=False)`` and places it with the U-Net's ``temporal_module`` entry.
"""
from .motion_module import AnimateDiffMotionModule

__all__ = ['AnimateDiffMotionModule']
__version__ = '0.1.0'
