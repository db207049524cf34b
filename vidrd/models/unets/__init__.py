from . import blocks  # noqa: F401  (registers the block types)
from .loading import (build_unet_from_pretrained_2d, load_original_unet, load_unet_weights,
                      unet_config_from_diffusers)
from .modelscope import build_modelscope_unet, modelscope_unet_config
from .unet3d_condition import ORIGINAL_TEMPORAL_LAYERS, UNet3DConditionModel, is_temporal_key

__all__ = ['UNet3DConditionModel', 'ORIGINAL_TEMPORAL_LAYERS', 'build_unet_from_pretrained_2d',
           'load_original_unet', 'load_unet_weights', 'unet_config_from_diffusers',
           'is_temporal_key', 'build_modelscope_unet', 'modelscope_unet_config']
