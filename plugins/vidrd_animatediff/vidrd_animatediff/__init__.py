"""vidrd plugin: AnimateDiff motion modules as temporal layers, and real AnimateDiff weights.

Importing the package registers ``AnimateDiffMotionModule`` in vidrd's ``TEMPORAL_LAYERS`` and
``AnimateDiffUNet`` (SD-1.5 + a motion-module checkpoint) in ``MODELS``; a config enables them
with ``custom_imports = dict(imports=['vidrd_animatediff'], allow_failed_imports=False)``.
"""
from .animatediff_unet import AnimateDiffUNet
from .motion_checkpoints import read_motion_checkpoint, to_vidrd_names
from .motion_module import AnimateDiffMotionModule

__all__ = ['AnimateDiffMotionModule', 'AnimateDiffUNet', 'read_motion_checkpoint',
           'to_vidrd_names']
__version__ = '0.2.0'
