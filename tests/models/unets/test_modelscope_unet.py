"""ModelScope T2V / Zeroscope U-Net on vidrd's blocks against diffusers' UNet3DConditionModel."""
import json
import os.path as osp
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from tiny_backbones import MODELSCOPE_UNET, randomize
from vidrd.models.unets import build_modelscope_unet, is_temporal_key
from vidrd.models.unets.modelscope import VIDRD_TO_DIFFUSERS, rename_state_dict
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import CheckpointMismatchError, WeightsNotFoundError


@pytest.fixture(scope='module')
def diffusers_unet(tmp_path_factory):
    from diffusers import UNet3DConditionModel
    folder = tmp_path_factory.mktemp('modelscope') / 'unet'
    unet = randomize(UNet3DConditionModel(**MODELSCOPE_UNET), seed=0)
    unet.save_pretrained(str(folder))
    return unet, str(folder)


@pytest.mark.parametrize('frames', [1, 3])
def test_forward_equals_diffusers(diffusers_unet, frames):
    reference, folder = diffusers_unet
    ours = MODELS.build(dict(type='PretrainedModelScopeUNet3D', folder=folder)).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, frames, 8, 8, generator=g)
    text = torch.randn(2, 5, 32, generator=g)
    t = torch.tensor([10, 700])
    with torch.no_grad():
        expected = reference(x, t, text).sample
        out = ours(x, t, text)
    # float32 sums in another order (oneDNN / MKL kernels differ between CPUs): 1.1e-5 on an
    # AMD EPYC, outputs of magnitude ~2
    assert (expected - out).abs().max() < 5e-5
    assert expected.abs().max() > 0.1  # a real signal, not two zero outputs


def test_names_are_diffusers_but_one_level(diffusers_unet):
    reference, folder = diffusers_unet
    ours = build_modelscope_unet(osp.dirname(folder))  # the pipeline folder works too
    state = ours.state_dict()
    assert rename_state_dict(state, VIDRD_TO_DIFFUSERS).keys() == reference.state_dict().keys()
    assert 'down_blocks.0.temp_modules.0.transformer_blocks.0.attn2.to_q.weight' in state
    # ModelScope's temporal layers, transformer_in included, are the 'temporal' group
    temporal = {k for k in state if is_temporal_key(k)}
    assert {k.split('.')[0] for k in temporal} == {'transformer_in', 'down_blocks', 'mid_block',
                                                   'up_blocks'}
    assert all(any(p in k for p in ('temp_convs', 'temp_modules', 'transformer_in'))
               for k in temporal)
    assert not any('attentions' in k and 'temp_' not in k for k in temporal)


def test_missing_and_unexpected_keys_are_named(diffusers_unet, tmp_path):
    _, folder = diffusers_unet
    state = load_file(osp.join(folder, 'diffusion_pytorch_model.safetensors'))
    state['down_blocks.0.temp_attentions.0.extra.weight'] = torch.zeros(1)
    del state['transformer_in.proj_in.weight']
    bad = tmp_path / 'unet'
    bad.mkdir()
    save_file(state, str(bad / 'diffusion_pytorch_model.safetensors'))
    (bad / 'config.json').write_text(open(osp.join(folder, 'config.json')).read())
    with pytest.raises(CheckpointMismatchError, match=r'(?s)transformer_in\.proj_in\.weight.*'
                                                      r'temp_modules\.0\.extra\.weight'):
        build_modelscope_unet(str(bad))


def test_bad_folders_are_clear_errors(diffusers_unet, tmp_path):
    _, folder = diffusers_unet
    with pytest.raises(WeightsNotFoundError, match='text-to-video-ms-1.7b'):
        build_modelscope_unet(str(tmp_path / 'nowhere'))
    config = json.load(open(osp.join(folder, 'config.json')))
    for change, message in [(dict(_class_name='UNet2DConditionModel'), 'UNet3DConditionModel'),
                            (dict(attention_head_dim=12), 'attention_head_dim=12')]:
        (tmp_path / 'config.json').write_text(json.dumps(dict(config, **change)))
        with pytest.raises(ValueError, match=message):
            build_modelscope_unet(str(tmp_path))


def test_runs_without_diffusers(diffusers_unet, monkeypatch):
    """diffusers is a test oracle only: loading and running the port never imports it."""
    _, folder = diffusers_unet
    for name in [m for m in sys.modules if m == 'diffusers' or m.startswith('diffusers.')]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError):
        import diffusers  # noqa: F401
    with torch.no_grad():
        out = build_modelscope_unet(folder)(torch.zeros(1, 4, 2, 8, 8), 1, torch.zeros(1, 3, 32))
    assert out.shape == (1, 4, 2, 8, 8)


def test_one_unet_folder_rule(diffusers_unet, tmp_path):
    """The SD and ModelScope loaders share one rule: ``unet/`` of a pipeline folder when it
    holds a config.json, else the folder itself when it does, else an error naming the folder
    (an empty ``unet/`` next to a config.json no longer hides it)."""
    from vidrd.models.unets.loading import unet_folder
    _, folder = diffusers_unet
    pipeline = osp.dirname(folder)
    assert unet_folder(pipeline) == folder and unet_folder(folder) == folder
    (tmp_path / 'unet').mkdir()
    with pytest.raises(WeightsNotFoundError, match=r'no config\.json.*stable-diffusion-2-1'):
        unet_folder(str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match=r'ModelScope U-Net folder.*no config\.json'):
        build_modelscope_unet(str(tmp_path))
    (tmp_path / 'config.json').write_text('{}')
    assert unet_folder(str(tmp_path)) == str(tmp_path)
