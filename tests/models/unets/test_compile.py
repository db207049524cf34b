"""The parity tests of the video U-Net with ``compile=True`` (torch.compile, inductor).

Few and small on purpose: inductor compiles each distinct graph once (C++ kernels), which takes
minutes for the fixture U-Net on a loaded 2-core CPU. One compiled model serves the original
release's output and the precomputed text conditioning; training is checked on a one-level
U-Net.
"""
import gc
import os.path as osp

import pytest
import torch
from safetensors.torch import load_file

from vidrd.models.unets import UNet3DConditionModel, load_original_unet

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module', autouse=True)
def forget_compiled_code():
    yield
    torch._dynamo.reset()
    gc.collect()


def _assert_compiled(model):
    assert model._compiled.enabled, f'compilation failed: {model._compiled.failure}'


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


def test_compiled_training_step_gives_the_eager_gradients():
    torch.manual_seed(0)
    kw = dict(block_out_channels=(32,), num_attention_heads=2, cross_attention_dim=16,
              down_block_types=('CrossAttnDownBlock2D',), up_block_types=('CrossAttnUpBlock2D',),
              layers_per_block=1,
              temporal_conv=dict(type='TemporalConv', dropout=0.0, zero_init=False),
              temporal_attention=dict(type='TemporalAttention', zero_init=False))
    eager = UNet3DConditionModel(**kw).train()
    compiled = UNet3DConditionModel(**kw, compile=True).train()
    compiled.load_state_dict(eager.state_dict())
    x, t, text = torch.randn(2, 4, 3, 8, 8), torch.tensor([3, 500]), torch.randn(2, 5, 16)
    grads = []
    for model in (eager, compiled):
        model(x, t, text).square().mean().backward()
        grads.append([p.grad for p in model.parameters()])
    _assert_compiled(compiled)
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
