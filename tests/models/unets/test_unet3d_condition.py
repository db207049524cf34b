"""The video U-Net against the original release's outputs and diffusers' 2D U-Net."""
import os.path as osp

import pytest
import torch
from safetensors.torch import load_file, save_file

from vidrd.models.unets import (UNet3DConditionModel, build_unet_from_pretrained_2d,
                                is_temporal_key, load_original_unet)
from vidrd.utils.checkpoint import (CheckpointMismatchError, UnsafeCheckpointError,
                                    WeightsNotFoundError)

NO_FRAME_EMBEDDING = dict(type='TemporalAttention', frame_embedding=False)


@pytest.fixture(scope='module')
def forward_case(reference_dir):
    return load_file(osp.join(reference_dir, 'unet_forward.safetensors'))


def _original(reference_dir, **overrides):
    return load_original_unet(osp.join(reference_dir, 'vidrd_official_tiny.pth'),
                              osp.join(reference_dir, 'sd21_tiny', 'unet'), **overrides).eval()


def _diffusers_per_frame(reference_dir, x, t, text, dtype):
    from diffusers import UNet2DConditionModel
    unet2d = UNet2DConditionModel.from_pretrained(
        osp.join(reference_dir, 'sd21_tiny', 'unet'), local_files_only=True).eval().to(dtype)
    b, c, f, h, w = x.shape
    frames = x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w).to(dtype)
    with torch.no_grad():
        out = unet2d(frames, t.repeat_interleave(f), text.to(dtype).repeat_interleave(f, 0)).sample
    return out.reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)


def test_original_checkpoint_reproduces_original_3d_unet(reference_dir, forward_case):
    model = _original(reference_dir)
    with torch.no_grad():
        out = model(forward_case['x'], forward_case['t'], forward_case['text_embeds'])
    torch.testing.assert_close(out, forward_case['unet3d_out'], atol=1e-4, rtol=0)


def test_original_needs_group_norm_over_frames(reference_dir, forward_case):
    """The original's ResNet GroupNorms see the whole clip: per-frame statistics differ."""
    model = _original(reference_dir, norm_over_frames=False)
    with torch.no_grad():
        out = model(forward_case['x'], forward_case['t'], forward_case['text_embeds'])
    assert (out - forward_case['unet3d_out']).abs().max() > 1e-2


def test_sd21_folder_at_init_is_the_image_model_per_frame(reference_dir, forward_case):
    """Temporal layers at init, per-frame norms, no frame embedding: SD-2.1 on every frame.

    Compared in float64: at the lowest level the tiny U-Net is 1x1 with 2 channels per
    GroupNorm group, which amplifies float32 rounding (diffusers itself is 4e-5 off the
    fixture in float32); float32 is checked with a looser bound.
    """
    model = build_unet_from_pretrained_2d(
        osp.join(reference_dir, 'sd21_tiny', 'unet'), temporal_attention=NO_FRAME_EMBEDDING,
        norm_over_frames=False).eval()
    x, t, text = forward_case['x'], forward_case['t'], forward_case['text_embeds']
    with torch.no_grad():
        out32 = model(x, t, text)
        out64 = model.double()(x.double(), t, text.double())
    ref = forward_case['unet2d_per_frame_out']
    torch.testing.assert_close(out64.float(), ref, atol=1e-4, rtol=0)
    torch.testing.assert_close(out32, ref, atol=5e-4, rtol=0)
    oracle = _diffusers_per_frame(reference_dir, x, t, text, torch.float64)
    torch.testing.assert_close(out64, oracle, atol=1e-9, rtol=0)


def test_single_frame_equals_image_model_without_frame_embedding(reference_dir, forward_case):
    """Trained (random) temporal layers leave a 1-frame input alone; the frame embedding does
    not (the original adds the position-0 embedding into the residual stream)."""
    x = forward_case['x'][:, :, :1].double()
    t, text = forward_case['t'], forward_case['text_embeds'].double()
    oracle = _diffusers_per_frame(reference_dir, x, t, text, torch.float64)
    plain = _original(reference_dir, temporal_attention=NO_FRAME_EMBEDDING).double()
    embedded = _original(reference_dir).double()
    with torch.no_grad():
        torch.testing.assert_close(plain(x, t, text), oracle, atol=1e-9, rtol=0)
        assert (embedded(x, t, text) - oracle).abs().max() > 1e-3


def test_sd21_base_parameter_counts():
    with torch.device('meta'):
        model = UNet3DConditionModel()  # SD-2.1-base with the released model's temporal layers
    counts = dict(all=0, temporal=0, trainable=0)
    for name, p in model.named_parameters():
        counts['all'] += p.numel()
        counts['temporal'] += p.numel() if is_temporal_key(name) else 0
        if is_temporal_key(name) or '.transformer_blocks.' in name:
            counts['trainable'] += p.numel()
    assert counts['all'] == 1_182_401_284
    assert counts['temporal'] == 316_490_560
    assert counts['all'] - counts['temporal'] == 865_910_724
    assert counts['trainable'] == 565_288_960


def test_temporal_switches_of_the_original_release():
    kw = dict(block_out_channels=(32, 64), num_attention_heads=2, cross_attention_dim=16,
              down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
              up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), layers_per_block=1)
    up_only = UNet3DConditionModel(temporal_attention_levels=('up',), **kw)
    names = [n for n, _ in up_only.named_parameters() if 'temp_attn' in n]
    assert names and all(n.startswith('up_blocks') for n in names)
    none = UNet3DConditionModel(temporal_conv=None, temporal_attention=None, **kw)
    assert not any(is_temporal_key(n) for n, _ in none.named_parameters())
    x = torch.randn(1, 4, 3, 10, 10)  # odd latent size: upsampling follows the skip sizes
    assert none(x, 10, torch.randn(1, 5, 16)).shape == x.shape


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    kw = dict(block_out_channels=(32, 32), num_attention_heads=2, cross_attention_dim=8,
              down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
              up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), layers_per_block=1,
              temporal_conv=dict(type='TemporalConv', dropout=0.0, zero_init=False),
              temporal_attention=dict(type='TemporalAttention', zero_init=False))
    model = UNet3DConditionModel(**kw).train()
    x, text = torch.randn(2, 4, 3, 8, 8), torch.randn(2, 5, 8)
    grads = []
    for enabled in (False, True):
        model.zero_grad()
        model.enable_gradient_checkpointing(enabled)
        model(x, torch.tensor([3, 500]), text).square().mean().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='unknown block'):
        model.enable_gradient_checkpointing(['up_blocks.7'])


def test_missing_folder_names_the_path_and_the_source(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='stable-diffusion-2-1-base') as err:
        build_unet_from_pretrained_2d(str(tmp_path / 'no_such_sd21'))
    assert 'no_such_sd21' in str(err.value)


def test_checkpoint_with_a_missing_key_is_named(reference_dir, tmp_path):
    state = torch.load(osp.join(reference_dir, 'vidrd_official_tiny.pth'), weights_only=True)
    dropped = 'unet.up_blocks.1.temp_convs.2.convs.7.weight'
    del state['state_dict'][dropped]
    path = tmp_path / 'ModelT2V.safetensors'
    save_file(state['state_dict'], str(path))
    with pytest.raises(CheckpointMismatchError, match=dropped[len('unet.'):]):
        load_original_unet(str(path), osp.join(reference_dir, 'sd21_tiny', 'unet'))


class _Payload:  # a class a weights-only unpickler must refuse
    pass


def test_unsafe_pickle_is_refused_unless_trusted(reference_dir, tmp_path):
    state = torch.load(osp.join(reference_dir, 'vidrd_official_tiny.pth'), weights_only=True)
    state['extra'] = _Payload()
    path = tmp_path / 'ModelT2V.pth'
    torch.save(state, str(path))
    unet_cfg = osp.join(reference_dir, 'sd21_tiny', 'unet')
    with pytest.raises(UnsafeCheckpointError, match='trust_pickle'):
        load_original_unet(str(path), unet_cfg)
    model = load_original_unet(str(path), unet_cfg, trust_pickle=True)
    assert isinstance(model, UNet3DConditionModel)
