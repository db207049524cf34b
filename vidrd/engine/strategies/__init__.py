"""Strategies of mmengine's FlexibleRunner (registered in STRATEGIES)."""
from .fsdp2_strategy import FSDP2Strategy
from .unet_block_wrap_policy import unet_block_wrap_policy

__all__ = ['FSDP2Strategy', 'unet_block_wrap_policy']
