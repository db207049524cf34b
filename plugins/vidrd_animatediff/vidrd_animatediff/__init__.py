"""vidrd plugin: AnimateDiff motion modules as temporal layers, and real AnimateDiff weights.

Importing the package registers ``AnimateDiffMotionModule`` in vidrd's ``TEMPORAL_LAYERS`` and
``AnimateDiffUNet`` (SD-1.5 + a motion-module checkpoint, built by
:func:`build_animatediff_unet`) in ``MODELS``; a config enables them with
``custom_imports = dict(imports=['vidrd_animatediff'], allow_failed_imports=False)``.
"""
import warnings

from .animatediff_unet import build_animatediff_unet
from .motion_checkpoints import read_motion_checkpoint, to_vidrd_names
from .motion_module import AnimateDiffMotionModule

__all__ = ['AnimateDiffMotionModule', 'build_animatediff_unet', 'read_motion_checkpoint',
           'to_vidrd_names']
__version__ = '0.3.0'


def __getattr__(name: str):
    """``AnimateDiffUNet``, the builder's name up to 0.2: deprecated, use
    :func:`build_animatediff_unet` (configs keep ``type='AnimateDiffUNet'``, its registered
    name)."""
    if name == 'AnimateDiffUNet':
        warnings.warn('vidrd_animatediff.AnimateDiffUNet is deprecated: use '
                      'build_animatediff_unet (configs keep type=\'AnimateDiffUNet\')',
                      DeprecationWarning, stacklevel=2)
        return build_animatediff_unet
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
