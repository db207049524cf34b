"""Per-frame timesteps (B, F) in every registered U-Net: the contract of
``tiny_backbones.check_per_frame_timesteps`` (the AnimateDiff plugin's U-Net is checked in
tests/plugins)."""
import os.path as osp

import pytest
import torch

from tiny_backbones import MODELSCOPE_UNET, check_per_frame_timesteps, randomize
from vidrd.models.unets import UNet3DConditionModel, load_original_unet
from vidrd.registry import MODELS

NO_FRAME_EMBEDDING = dict(type='TemporalAttention', frame_embedding=False)
TINY = dict(in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
            num_attention_heads=(2, 2), norm_num_groups=8, cross_attention_dim=16,
            down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
            up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
            temporal_conv=dict(type='TemporalConv', num_layers=2, dropout=0.0),
            temporal_attention=NO_FRAME_EMBEDDING, norm_over_frames=False)


@pytest.mark.parametrize('channels_last', [True, False])
def test_vidrd_unet(channels_last):
    unet = randomize(UNet3DConditionModel(**TINY, channels_last=channels_last), seed=0)
    check_per_frame_timesteps(unet, channels=4, text_dim=16)


def test_original_release_unet(reference_dir):
    unet = load_original_unet(osp.join(reference_dir, 'vidrd_official_tiny.pth'),
                              osp.join(reference_dir, 'sd21_tiny', 'unet'),
                              temporal_attention=NO_FRAME_EMBEDDING,
                              norm_over_frames=False).eval()
    check_per_frame_timesteps(unet, channels=unet.in_channels,
                              text_dim=unet.config['cross_attention_dim'])


def test_modelscope_unet(tmp_path):
    from diffusers import UNet3DConditionModel as DiffusersUNet3D
    folder = tmp_path / 'unet'
    randomize(DiffusersUNet3D(**MODELSCOPE_UNET), seed=0).save_pretrained(str(folder))
    unet = MODELS.build(dict(type='PretrainedModelScopeUNet3D', folder=str(folder))).eval()
    check_per_frame_timesteps(unet, channels=4, text_dim=32)


def test_all_equal_frames_of_a_clip_wide_norm_unet_equal_the_scalar_call():
    """The released model's clip-wide GroupNorm mixes frames, so only the bit-exact half of
    the contract applies there."""
    unet = randomize(UNet3DConditionModel(**dict(TINY, norm_over_frames=True)), seed=1)
    x = torch.randn(1, 4, 4, 8, 8)
    text = torch.randn(1, 3, 16)
    with torch.no_grad():
        assert torch.equal(unet(x, 300, text), unet(x, torch.full((1, 4), 300), text))


@pytest.mark.parametrize('shape', [(2, 2), (3,) * 3])
def test_a_timestep_of_the_wrong_shape_is_refused(shape):
    unet = UNet3DConditionModel(**TINY)
    with pytest.raises(ValueError, match='per frame'):
        unet(torch.zeros(1, 4, 3, 8, 8), torch.zeros(shape, dtype=torch.long),
             torch.zeros(1, 3, 16))
