"""FSDP1 auto-wrap policy for mmengine's ``FSDPStrategy``: one FSDP unit per U-Net block."""
from mmengine.registry import FUNCTIONS
from torch import nn


@FUNCTIONS.register_module()
def unet_block_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int) -> bool:
    """``auto_wrap_policy`` of ``torch.distributed.fsdp``: descend everywhere, wrap each
    down / mid / up block of vidrd's video U-Net (its ResNets, transformers and temporal layers
    together)."""
    from vidrd.models.unets.blocks import VideoUNetBlock
    return True if recurse else isinstance(module, VideoUNetBlock)
