"""The AnimateDiff plugin: a motion module in the U-Net's ``temporal_module`` placement, enabled
by custom_imports, identity at init, and trained alone with the Runner."""
import os.path as osp

import pytest
import torch

from vidrd.apis.run_config import build_runner, load_config
from vidrd.models.unets import is_temporal_key
from vidrd.registry import MODELS, TEMPORAL_LAYERS

CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                  'plugins', 'vidrd_animatediff', 'configs', 'animatediff_tiny_shapes.py')

UNET = dict(type='UNet3DConditionModel', in_channels=4, out_channels=4,
            block_out_channels=(32, 32), layers_per_block=1, num_attention_heads=(2, 2),
            down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
            up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
            cross_attention_dim=16, temporal_conv=None, temporal_attention=None)
MOTION_MODULE = dict(type='AnimateDiffMotionModule', num_heads=4)


def _unet(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(UNET, **kwargs)).eval()


def test_motion_modules_start_as_the_identity_of_the_image_model(plugins_on_path):
    import vidrd_animatediff  # noqa: F401  (registers the motion module)
    image_model = _unet()
    video_model = _unet(temporal_module=MOTION_MODULE)
    missing, unexpected = video_model.load_state_dict(image_model.state_dict(), strict=False)
    assert not unexpected and missing and all('.temp_modules.' in k for k in missing)
    # one module after every spatial transformer: 2 down, 1 mid, 2 x 2 up
    assert sum(1 for n, _ in video_model.named_modules()
               if type(_).__name__ == 'AnimateDiffMotionModule') == 7
    assert all(is_temporal_key(k) for k in missing)

    sample = torch.randn(2, 4, 5, 8, 8)
    context = torch.randn(2, 3, 16)
    with torch.no_grad():
        assert torch.equal(video_model(sample, 10, context), image_model(sample, 10, context))


def test_motion_module_attends_across_the_frames_of_one_video_only(plugins_on_path):
    import vidrd_animatediff  # noqa: F401
    module = TEMPORAL_LAYERS.build(MOTION_MODULE, default_args=dict(in_channels=32)).eval()
    x = torch.randn(2 * 4, 32, 3, 3)
    assert torch.equal(module(x, 4), x)
    torch.nn.init.normal_(module.proj_out.weight, std=0.1)  # as if trained
    changed = x.clone()
    changed[1] = torch.randn(32, 3, 3)  # frame 1 of video 0
    with torch.no_grad():
        y, y_changed = module(x, 4), module(changed, 4)
    assert not torch.allclose(y[0], y_changed[0])  # frame 0 sees frame 1
    assert torch.equal(y[4:], y_changed[4:])  # video 1 does not
    # its own positional encoding: the same frame content at another position differs
    same = x[:1].repeat(4, 1, 1, 1)
    with torch.no_grad():
        out = module(same, 4)
    assert not torch.allclose(out[0], out[1])


def test_bad_head_count_is_a_clear_error(plugins_on_path):
    import vidrd_animatediff  # noqa: F401
    with pytest.raises(ValueError, match='num_heads=5 does not divide in_channels=32'):
        TEMPORAL_LAYERS.build(dict(MOTION_MODULE, num_heads=5), default_args=dict(in_channels=32))


def test_runner_trains_only_the_motion_modules(plugins_on_path, small_options, tmp_path):
    """The plugin config through load_config + build_runner (what tools/train.py does)."""
    cfg = load_config(CONFIG, small_options, work_dir=str(tmp_path))
    assert cfg.custom_imports.imports == ['vidrd_animatediff']
    assert cfg.model.unet.temporal_conv is None and cfg.model.unet.temporal_attention is None
    runner = build_runner(cfg)
    model = runner.model
    motion = {n for n, _ in model.named_parameters() if '.temp_modules.' in n}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert motion and trainable == motion
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    runner.train()
    assert runner.iter == 2
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed <= trainable
    # step 1 moves the zero-initialised output projections, step 2 reaches the modules' inside
    assert any(n.endswith('proj_out.weight') for n in changed)
    assert any('.attention_blocks.' in n for n in changed)
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))


def test_registered_builders_are_snake_case_functions_under_config_names(plugins_on_path):
    """One convention for builder functions, core and plugin alike: a snake_case function
    registered with an explicit ``name=`` (the ``type`` configs use), e.g.
    ``build_animatediff_unet`` as ``AnimateDiffUNet``, ``build_modelscope_unet`` as
    ``PretrainedModelScopeUNet3D``; the old PascalCase import still works, with a warning."""
    import inspect

    import vidrd_animatediff
    from vidrd.models.unets import build_modelscope_unet
    MODELS.import_from_location()
    functions = {name: obj for name, obj in MODELS.module_dict.items()
                 if inspect.isfunction(obj)}
    assert functions['AnimateDiffUNet'] is vidrd_animatediff.build_animatediff_unet
    assert functions['PretrainedModelScopeUNet3D'] is build_modelscope_unet
    for name, function in functions.items():
        assert function.__name__ == function.__name__.lower(), (name, function.__name__)
    with pytest.warns(DeprecationWarning, match='build_animatediff_unet'):
        assert vidrd_animatediff.AnimateDiffUNet is vidrd_animatediff.build_animatediff_unet
