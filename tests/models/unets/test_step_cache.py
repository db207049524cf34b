"""Step caching (DeepCache) in the video U-Net: off is bit-identical, a cached call is the
shallow branch on the kept deep features of its own stream and input signature only, and it
works on every registered U-Net (SD-2.1, the released model, ModelScope, AnimateDiff)."""
import os.path as osp
import sys

import pytest
import torch

from vidrd.models.unets import (UNet3DConditionModel, build_modelscope_unet,
                                build_unet_from_pretrained_2d, load_original_unet)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY = dict(block_out_channels=(32, 32, 64),
            down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
            layers_per_block=1, num_attention_heads=2, cross_attention_dim=16, norm_num_groups=8)


def _randomized(unet: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # zero-initialised temporal outputs would hide the temporal layers
        for p in unet.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return unet.eval()


@pytest.fixture(scope='module')
def unet():
    torch.manual_seed(0)
    return _randomized(UNet3DConditionModel(**TINY))


def _inputs(channels=4, text_dim=16, batch=2, size=(10, 6), seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, channels, 3, *size, generator=g),
            torch.randn(batch, 5, text_dim, generator=g))


@torch.no_grad()
def test_off_and_every_call_full_are_bit_identical(unet):
    """No session, a session outside any stream, interval 1 (every call full, keeping its
    features) and the full branched forward at every branch: the plain forward, bit for bit
    (odd sizes 10 x 6 -> 5 x 3 -> 3 x 2 included)."""
    x, text = _inputs()
    t = torch.tensor(500)
    plain = unet(x, t, text)
    assert unet.num_skip_branches == 6
    for branch in range(1, 7):
        out, deep = unet._branched_forward(x, t, text, branch)
        assert torch.equal(out, plain) and deep is not None
    with unet.step_cache_session(interval=3, branch=2) as cache:
        assert torch.equal(unet(x, t, text), plain)  # no stream: no caching
        assert not cache.log
    with unet.step_cache_session(interval=1, branch=2) as cache:
        with cache.use('clip'):
            for _ in range(3):
                assert torch.equal(unet(x, t, text), plain)
        assert cache.full_calls == 3 and cache.cached_calls == 0
    assert unet.step_cache is None  # the session is over


@torch.no_grad()
@pytest.mark.parametrize('branch', [1, 2, 4, 6])
def test_cached_calls_are_the_shallow_branch_on_the_last_full_calls_features(unet, branch):
    x, text = _inputs()
    later = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    t1, t2 = torch.tensor(600), torch.tensor(500)
    _, deep = unet._branched_forward(x, t1, text, branch)
    expected, _ = unet._branched_forward(later, t2, text, branch, deep=deep)
    with unet.step_cache_session(interval=3, branch=branch) as cache, cache.use('clip'):
        first = unet(x, t1, text)
        second, third, fourth = (unet(later, t2, text), unet(later, t2, text),
                                 unet(later, t2, text))
    assert torch.equal(first, unet(x, t1, text))
    assert torch.equal(second, expected) and torch.equal(third, expected)
    assert torch.equal(fourth, unet(later, t2, text))  # the 4th call of interval 3: full
    assert [full for _, full in cache.log] == [True, False, False, True]
    full_later = unet(later, t2, text)
    assert (second - full_later).abs().max() > 1e-6  # an approximation, not the full call


@torch.no_grad()
def test_features_are_never_reused_across_streams_or_input_signatures(unet):
    """Each stream / shape / prompt / timestep kind has its own entry: such a call is computed
    in full (the plain forward, bit for bit), never from another input's features."""
    x, text = _inputs()
    t = torch.tensor(400)
    other_text = torch.randn(text.shape, generator=torch.Generator().manual_seed(7))
    with unet.step_cache_session(interval=4, branch=2) as cache:
        with cache.use('a'):
            unet(x, t, text)
        with cache.use('b'):  # another stream (a window group, a clip)
            assert torch.equal(unet(x, t, text), unet._forward(x, t, text))
        with cache.use('a'):
            assert torch.equal(unet(x[:1], t, text[:1]), unet._forward(x[:1], t, text[:1]))
            assert torch.equal(unet(x, t, other_text), unet._forward(x, t, other_text))
            per_frame = torch.full((2, 3), 400)
            assert torch.equal(unet(x, per_frame, text), unet._forward(x, per_frame, text))
            unet(x, t, text)  # the entry of the first call: reused
        assert [full for _, full in cache.log] == [True, True, True, True, True, False]
        assert len(cache.entries) == 5
        cache.clear()
        with cache.use('a'):
            unet(x, t, text)
        assert cache.log[-1] == ('a', True)


def test_what_a_wrong_reuse_would_break(unet):
    """The deep features of one input applied to another (another window, clip or prompt)
    move the output by far more than those of the same input one step earlier: reuse is only
    sound along one trajectory, hence streams and signatures."""
    x, text = _inputs()
    t = torch.tensor(500)
    other = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    adjacent = x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = unet(x, t, text)
        _, own = unet._branched_forward(adjacent, torch.tensor(520), text, 2)
        _, foreign = unet._branched_forward(other, torch.tensor(520), text, 2)
        right = (unet._branched_forward(x, t, text, 2, deep=own)[0] - full).norm()
        wrong = (unet._branched_forward(x, t, text, 2, deep=foreign)[0] - full).norm()
    assert wrong > 5 * right


def test_grad_and_training_calls_run_in_full_and_leave_the_cache_alone(unet):
    x, text = _inputs()
    t = torch.tensor(500)
    with unet.step_cache_session(interval=3, branch=2) as cache, cache.use('clip'):
        with torch.no_grad():
            unet(x, t, text)
        z = x.clone().requires_grad_(True)
        out = unet(z, t, text)  # grad mode: the full forward, differentiable
        out.sum().backward()
        assert z.grad is not None and torch.equal(out.detach(), unet._forward(x, t, text))
        assert len(cache.log) == 1
        unet.train()
        try:
            with torch.no_grad():
                unet(x, t, text)
        finally:
            unet.eval()
        assert len(cache.log) == 1


def test_refusals(unet):
    with pytest.raises(ValueError, match=r'branch must be an int in \[1, 6\]'):
        with unet.step_cache_session(branch=7):
            pass
    with pytest.raises(ValueError, match='interval must be an int >= 1'):
        with unet.step_cache_session(interval=0):
            pass
    with unet.step_cache_session():
        with pytest.raises(RuntimeError, match='already open'):
            with unet.step_cache_session():
                pass


def _modelscope(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tests'))
    from tiny_backbones import write_modelscope_folder
    return build_modelscope_unet(write_modelscope_folder(str(tmp_path))), 4, 32


def _animatediff(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tests'))
    sys.path.insert(0, osp.join(REPO, 'plugins', 'vidrd_animatediff'))
    from tiny_backbones import write_sd15_folder
    import vidrd_animatediff  # noqa: F401  (registers AnimateDiffUNet)
    from vidrd.registry import MODELS
    folder = write_sd15_folder(str(tmp_path))
    return MODELS.build(dict(type='AnimateDiffUNet', folder=osp.join(folder, 'unet'),
                             motion_module=osp.join(folder, 'motion_adapter'))), 4, 32


@pytest.mark.parametrize('backbone', ['sd21', 'released', 'modelscope', 'animatediff'])
def test_every_registered_unet_caches(backbone, request, tmp_path):
    """PretrainedUNet3D (SD-2.1), OriginalVidRDUNet, PretrainedModelScopeUNet3D and the
    plugin's AnimateDiffUNet: all UNet3DConditionModel, so caching applies; interval 1 equals
    no caching, a cached call is finite and near the full one."""
    pytest.importorskip('diffusers')
    if backbone in ('sd21', 'released'):
        ref = request.getfixturevalue('reference_dir')
        folder = osp.join(ref, 'sd21_tiny', 'unet')
        model = (build_unet_from_pretrained_2d(folder) if backbone == 'sd21' else
                 load_original_unet(osp.join(ref, 'vidrd_official_tiny.pth'), folder))
        channels, text_dim = 4, model.config['cross_attention_dim']
    else:
        model, channels, text_dim = (_modelscope if backbone == 'modelscope'
                                     else _animatediff)(tmp_path)
    model = _randomized(model, seed=1) if backbone == 'sd21' else model.eval()
    x, text = _inputs(channels, text_dim, batch=1, size=(8, 8))
    adjacent = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    t = torch.tensor(500)
    with torch.no_grad():
        plain, plain_adjacent = model(x, t, text), model(adjacent, t, text)
        with model.step_cache_session(interval=1, branch=2) as cache, cache.use('s'):
            assert torch.equal(model(x, t, text), plain)
        with model.step_cache_session(interval=2, branch=2) as cache, cache.use('s'):
            model(x, t, text)
            cached = model(adjacent, t, text)
    assert cache.cached_calls == 1 and torch.isfinite(cached).all()
    assert (cached - plain_adjacent).norm() < (plain - plain_adjacent).norm() + 1e-6
