"""The video U-Net with ``compile=True`` (torch.compile, inductor) gives the eager numbers.

Inductor compiles every distinct graph once, with C++ kernels: on a loaded 2-core CPU that took
730 s for the fixture U-Net (two graphs: text embeddings and precomputed text conditioning) and
190 s for a training step of a one-level U-Net. So the suite compiles one graph of a one-level
U-Net; the parity tests at the fixture's size with compile on run where
``VIDRD_COMPILE_PARITY=1`` is set (``VIDRD_COMPILE_PARITY=1 python -m pytest
tests/models/unets/test_compile.py``).
"""
import gc
import os
import os.path as osp

import pytest
import torch
from safetensors.torch import load_file

from vidrd.models.unets import UNet3DConditionModel, load_original_unet

pytestmark = pytest.mark.slow

ONE_LEVEL = dict(block_out_channels=(32,), num_attention_heads=2, cross_attention_dim=16,
                 down_block_types=('CrossAttnDownBlock2D',),
                 up_block_types=('CrossAttnUpBlock2D',), layers_per_block=1,
                 temporal_conv=dict(type='TemporalConv', dropout=0.0, zero_init=False),
                 temporal_attention=dict(type='TemporalAttention', frame_embedding=True,
                                         zero_init=False))
full_parity = pytest.mark.skipif(
    os.environ.get('VIDRD_COMPILE_PARITY') != '1',
    reason='compiling the fixture-size U-Net takes minutes; set VIDRD_COMPILE_PARITY=1')


@pytest.fixture(scope='module', autouse=True)
def forget_compiled_code():
    """Drop dynamo's caches (and the fake tensors they hold) after this module."""
    yield
    torch._dynamo.reset()
    gc.collect()


def _assert_compiled(model):
    assert model._compiled.enabled, f'compilation failed: {model._compiled.failure}'


def test_compiled_unet_with_cached_text_equals_eager():
    torch.manual_seed(0)
    eager = UNet3DConditionModel(**ONE_LEVEL).eval()
    compiled = UNet3DConditionModel(**ONE_LEVEL, compile=True).eval()
    compiled.load_state_dict(eager.state_dict())
    x, t, text = torch.randn(2, 4, 3, 8, 8), torch.tensor([3, 500]), torch.randn(2, 5, 16)
    with torch.no_grad():
        out = compiled(x, t, compiled.precompute_text_conditioning(text))
        _assert_compiled(compiled)
        torch.testing.assert_close(out, eager(x, t, text), rtol=1e-5, atol=1e-5)


@full_parity
def test_compiled_unet_reproduces_the_original_release(reference_dir):
    case = load_file(osp.join(reference_dir, 'unet_forward.safetensors'))
    model = load_original_unet(osp.join(reference_dir, 'vidrd_official_tiny.pth'),
                               osp.join(reference_dir, 'sd21_tiny', 'unet'), compile=True).eval()
    x, t, text = case['x'], case['t'], case['text_embeds']
    with torch.no_grad():
        out = model(x, t, text)
        _assert_compiled(model)
        torch.testing.assert_close(out, case['unet3d_out'], atol=1e-4, rtol=0)
        cached = model(x, t, model.precompute_text_conditioning(text))
        _assert_compiled(model)
        torch.testing.assert_close(cached, case['unet3d_out'], atol=1e-4, rtol=0)


@full_parity
def test_compiled_training_step_gives_the_eager_gradients():
    torch.manual_seed(0)
    eager = UNet3DConditionModel(**ONE_LEVEL).train()
    compiled = UNet3DConditionModel(**ONE_LEVEL, compile=True).train()
    compiled.load_state_dict(eager.state_dict())
    x, t, text = torch.randn(2, 4, 3, 8, 8), torch.tensor([3, 500]), torch.randn(2, 5, 16)
    grads = []
    for model in (eager, compiled):
        model(x, t, text).square().mean().backward()
        grads.append([p.grad for p in model.parameters()])
    _assert_compiled(compiled)
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
