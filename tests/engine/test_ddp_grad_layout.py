"""DDP's "Grad strides do not match bucket view strides" warning in 2-process CPU training.

Cause: the U-Net runs channels-last, so the weight gradient of a 1x1 conv (``conv_shortcut``,
``proj_in`` / ``proj_out``) comes out with channels-last strides, e.g. (96, 1, 96, 96) for a
(32, 96, 1, 1) weight. Both layouts hold the same numbers in the same order (only the strides
of size-1 dimensions differ), but DDP compares strides exactly, so it copied those gradients out
of its buckets and warned. Fix: ``UNet3DConditionModel`` gives 1x1 weights those strides.
"""
import warnings

import pytest
import torch
from mmengine.registry import init_default_scope

from vidrd.apis.run_config import load_config
from vidrd.registry import MODELS


def _mismatched_grad_strides(channels_last: bool):
    init_default_scope('vidrd')
    # the tiny config at its training clip length: whether the CPU convolution keeps the
    # channels-last layout depends on the sizes (2-frame clips, or the shrunk test model, do not)
    cfg = load_config('configs/vidrd_tiny_shapes.py').model
    cfg.unet.channels_last = channels_last
    model = MODELS.build(cfg)
    torch.manual_seed(0)
    latents = torch.randn(2, 27, 8, 8, 8)
    context = model.encode_text(['a red circle moving left'] * 2)
    model.unet(latents, torch.tensor([10, 500]), context).square().mean().backward()
    return [name for name, p in model.unet.named_parameters()
            if p.grad is not None and p.grad.stride() != p.stride()]


@pytest.mark.parametrize('channels_last', [True, False])
def test_no_parameter_gets_grads_of_another_layout(channels_last):
    assert _mismatched_grad_strides(channels_last) == []


def test_pointwise_weights_keep_their_layout_through_loading_and_saving(tmp_path):
    from safetensors.torch import load_file, save_file

    from vidrd.models.unets import UNet3DConditionModel
    unet = UNet3DConditionModel(block_out_channels=(32, 64), num_attention_heads=(2, 2),
                                down_block_types=('CrossAttnDownBlock3D', 'DownBlock3D'),
                                up_block_types=('UpBlock3D', 'CrossAttnUpBlock3D'),
                                cross_attention_dim=32)
    weight = unet.down_blocks[1].resnets[0].conv_shortcut.weight
    assert weight.stride() == (32, 1, 32, 32) and weight.is_contiguous()
    path = str(tmp_path / 'unet.safetensors')
    save_file(unet.state_dict(), path)  # safetensors accepts it: still contiguous
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        unet.load_state_dict(load_file(path))
    assert weight.stride() == (32, 1, 32, 32)
