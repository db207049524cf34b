"""Fast paths of the video U-Net: same numbers as the plain computation, fewer copies, text
K / V computed once per sampling run, and torch.compile's eager fallback."""
import gc
import logging
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from copy_counting import copy_ops
from safetensors.torch import load_file

from vidrd.models.long_video import ReuseAndDiffuseSampler
from vidrd.models.schedulers import DDIMScheduler
from vidrd.models.unets import UNet3DConditionModel, load_original_unet
from vidrd.models.unets.resnet import video_group_norm
from vidrd.models.unets.transformer import GEGLU

TINY = dict(block_out_channels=(32, 32), num_attention_heads=2, cross_attention_dim=16,
            down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), layers_per_block=1,
            temporal_conv=dict(type='TemporalConv', dropout=0.0, zero_init=False),
            temporal_attention=dict(type='TemporalAttention', frame_embedding=True,
                                    zero_init=False))
#: one level: the least for dynamo to trace (tracing the two-level one takes ~10 s)
ONE_LEVEL = dict(TINY, block_out_channels=(32,), num_attention_heads=2,
                 down_block_types=('CrossAttnDownBlock2D',),
                 up_block_types=('CrossAttnUpBlock2D',))


@pytest.fixture(scope='module', autouse=True)
def forget_compiled_code():
    """Drop dynamo's caches (and the fake tensors they hold) after this module."""
    yield
    torch._dynamo.reset()
    gc.collect()


@pytest.fixture(scope='module')
def forward_case(reference_dir):
    return load_file(osp.join(reference_dir, 'unet_forward.safetensors'))


@pytest.fixture(scope='module')
def original(reference_dir):
    return load_original_unet(osp.join(reference_dir, 'vidrd_official_tiny.pth'),
                              osp.join(reference_dir, 'sd21_tiny', 'unet')).eval()


def test_group_norm_over_frames_equals_group_norm_of_the_5d_tensor():
    torch.manual_seed(0)
    norm = torch.nn.GroupNorm(4, 8)
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    x = torch.randn(2 * 3, 8, 5, 4) * 3 + 1
    video = x.view(2, 3, 8, 5, 4).transpose(1, 2)  # (B, C, F, H, W)
    expected = F.group_norm(video, 4, norm.weight, norm.bias, norm.eps).transpose(1, 2)
    expected = expected.reshape(x.shape)
    torch.testing.assert_close(video_group_norm(x, norm, 3), expected)
    with torch.no_grad():
        torch.testing.assert_close(video_group_norm(x, norm, 3, silu=True), F.silu(expected))
        channels_last = x.contiguous(memory_format=torch.channels_last)
        out = video_group_norm(channels_last, norm, 3, silu=True)
        assert out.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(out, F.silu(expected))
        assert copy_ops(video_group_norm, channels_last, norm, 3, True) == 0


@pytest.mark.parametrize('memory_format', [torch.contiguous_format, torch.channels_last])
def test_group_norm_over_frames_gradients_equal_the_5d_group_norms(memory_format):
    torch.manual_seed(0)
    norm = torch.nn.GroupNorm(4, 8)
    torch.nn.init.normal_(norm.weight)
    x = torch.randn(2 * 3, 8, 5, 4) * 3 + 1
    grad = torch.randn_like(x)
    leaf = x.clone().requires_grad_()
    video = leaf.view(2, 3, 8, 5, 4).transpose(1, 2)
    expected = F.group_norm(video, 4, norm.weight, norm.bias, norm.eps).transpose(1, 2)
    expected_grads = torch.autograd.grad(expected.reshape(x.shape), (leaf, norm.weight), grad)
    leaf = x.contiguous(memory_format=memory_format).requires_grad_()
    grads = torch.autograd.grad(video_group_norm(leaf, norm, 3), (leaf, norm.weight), grad)
    assert grads[0].is_contiguous(memory_format=memory_format)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want)


def test_geglu_without_grad_equals_the_autograd_path():
    torch.manual_seed(0)
    geglu, x = GEGLU(8, 16), torch.randn(2, 5, 8)
    with torch.no_grad():
        fast = geglu(x)
    hidden, gate = geglu.proj(x).chunk(2, dim=-1)
    torch.testing.assert_close(fast, hidden * F.gelu(gate))


def test_channels_last_changes_no_numbers_and_saves_copies(original, forward_case):
    x, t, text = forward_case['x'], forward_case['t'], forward_case['text_embeds']
    with torch.no_grad():
        fast = original(x, t, text)
        original.channels_last = False
        try:
            plain = original(x, t, text)
            plain_copies = copy_ops(original, x, t, text, weights=original)
        finally:
            original.channels_last = True
        fast_copies = copy_ops(original, x, t, text, weights=original)
    torch.testing.assert_close(fast, forward_case['unet3d_out'], atol=1e-4, rtol=0)
    torch.testing.assert_close(fast, plain, atol=1e-5, rtol=0)
    # token views of the transformers and Temp-Conv's video view are free in channels-last
    assert fast_copies < plain_copies


def test_precomputed_text_conditioning_equals_the_embeddings(original, forward_case):
    x, t, text = forward_case['x'], forward_case['t'], forward_case['text_embeds']
    with torch.no_grad():
        cached = original(x, t, original.precompute_text_conditioning(text))
        plain = original(x, t, text)
    torch.testing.assert_close(cached, plain, atol=0, rtol=0)
    torch.testing.assert_close(cached, forward_case['unet3d_out'], atol=1e-4, rtol=0)


def test_sampler_projects_the_text_once_per_layer_and_run():
    """3 clips x 3 DDIM steps with guidance: every cross-attention K / V projection runs once,
    and the video equals the one sampled without the cache."""
    torch.manual_seed(0)
    unet = UNet3DConditionModel(**TINY).eval()
    calls = {}
    cross = [m for n, m in unet.named_modules() if n.endswith('attn2')]
    assert cross
    for attention in cross:
        for proj in (attention.to_k, attention.to_v):
            calls[proj] = 0
            proj.register_forward_hook(lambda mod, args, out: calls.__setitem__(mod, calls[mod] + 1))
    sampler = ReuseAndDiffuseSampler(
        num_frames=4, num_prompt_frames=2, num_inference_steps=3, guidance_scale=5.0,
        strategies=[dict(type='FrameNoiseReversion'),
                    dict(type='PastDependentNoiseSampling', alpha=2.0),
                    dict(type='StagedGuidanceDenoising', beta=0.5)], progress=False)
    g = torch.Generator().manual_seed(0)
    cond, uncond = torch.randn(1, 5, 16, generator=g), torch.randn(1, 5, 16, generator=g)

    def sample(model):
        return sampler.sample(model, DDIMScheduler(), cond, uncond, latent_shape=(4, 8, 8),
                              num_clips=3, seed=0).clip_latents

    cached = sample(unet)
    assert set(calls.values()) == {1}
    # a plain callable: the sampler cannot precompute, the U-Net projects at every call
    uncached = sample(lambda *args: unet(*args))
    assert set(calls.values()) == {1 + 3 * 3}
    torch.testing.assert_close(cached, uncached, atol=0, rtol=0)


def test_compile_failure_falls_back_to_eager_and_says_why():
    torch.manual_seed(0)
    calls = []

    def broken_backend(graph_module, example_inputs):
        calls.append(1)
        raise RuntimeError('no compiler here (forced by the test)')

    x, t, text = torch.randn(1, 4, 2, 8, 8), torch.tensor([10]), torch.randn(1, 5, 16)
    eager = UNet3DConditionModel(**ONE_LEVEL).eval()
    compiled = UNet3DConditionModel(**ONE_LEVEL, compile=dict(backend=broken_backend)).eval()
    compiled.load_state_dict(eager.state_dict())
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        with torch.no_grad():
            out = compiled(x, t, text)
            again = compiled(x, t, text)
    finally:
        logger.removeHandler(handler)
    assert calls == [1]  # not retried
    with torch.no_grad():
        torch.testing.assert_close(out, eager(x, t, text), atol=0, rtol=0)
    torch.testing.assert_close(again, out, atol=0, rtol=0)
    assert 'no compiler here' in compiled._compiled.failure
    messages = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any('torch.compile' in m and 'running eagerly' in m and 'no compiler here' in m
               for m in messages)
    unknown = UNet3DConditionModel(**ONE_LEVEL, compile=dict(backend='no_such_backend')).eval()
    unknown.load_state_dict(eager.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(unknown(x, t, text), eager(x, t, text), atol=0, rtol=0)
    assert 'no_such_backend' in unknown._compiled.failure
    with pytest.raises(ValueError, match='unknown torch.compile option'):
        UNet3DConditionModel(**ONE_LEVEL, compile=dict(backend='inductor', fast=True))


def test_compile_fallback_keeps_errors_of_the_inputs():
    """A wrong input raises the eager code's own error, not a compiler message."""
    model = UNet3DConditionModel(**ONE_LEVEL, compile=True).eval()
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 5, 2, 8, 8), torch.tensor([1]), torch.randn(1, 5, 16))


def test_group_norm_over_frames_under_bf16_autocast_keeps_float32_statistics():
    torch.manual_seed(0)
    norm = torch.nn.GroupNorm(4, 8)
    x = (torch.randn(2 * 3, 8, 5, 4) * 3 + 100).bfloat16()  # a large mean: bf16 stats fail
    video = x.float().view(2, 3, 8, 5, 4).transpose(1, 2)
    expected = F.group_norm(video, 4, norm.weight, norm.bias, norm.eps).transpose(1, 2)
    with torch.autocast('cpu', torch.bfloat16):
        out = video_group_norm(x, norm, 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected.reshape(x.shape), atol=1e-4, rtol=1e-4)
    # channels-last goes through GroupNorm's kernel: float32 statistics, output in bf16 as
    # autocast gives it for nn.GroupNorm (the error is the output's rounding, not the mean's)
    with torch.autocast('cpu', torch.bfloat16):
        out = video_group_norm(x.contiguous(memory_format=torch.channels_last), norm, 3)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out.float(), expected.reshape(x.shape), atol=2e-2, rtol=1e-2)
