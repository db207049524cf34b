"""Other backbones through the tools: on ModelScope every ablation config and
tools/generate.py make long videos; on ModelScope and AnimateDiff tools/train.py's recipe trains
only the configured subset (the temporal layers), and tools/test.py evaluates the fine-tuned
model with
the UCF-101 zero-shot protocol config: its prompt dataset and metrics (FVD, IS) on tiny split
files, with a tiny random feature network in place of I3D / C3D (which take ~10 s a clip here)."""
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
import torch

from tiny_backbones import TOKENIZER, write_modelscope_folder, write_sd15_folder
from vidrd.apis import load_generation_model
from vidrd.apis.run_config import build_runner, load_config, missing_paths
from vidrd.evaluation.reference_stats import ReferenceStats
from vidrd.models.unets import is_temporal_key
from vidrd.registry import FEATURE_EXTRACTORS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the stand-in for I3D and C3D: a random ShapesClassifier (8-d features, 16 px, all frames)
EXTRACTOR = dict(type='ShapesClassifier', weights=None, allow_random_weights=True,
                 feature_dim=8, resolution=16)

TINY_CONFIG = '''
_base_ = [{base!r}]
folder = {folder!r}
model = dict(
    unet=dict({unet}, gradient_checkpointing=False),{schedules}
    vae=dict(folder=folder + '/vae'),
    text_encoder=dict(pretrained=folder + '/text_encoder', tokenizer={tokenizer!r}),
    num_frames=4, resolution=(16, 16),
    long_video_sampler=dict(num_frames=4, num_prompt_frames=2, num_inference_steps=2))
train_dataloader = dict(
    _delete_=True, batch_size=2, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True), collate_fn=dict(type='default_collate'),
    dataset=dict(type='MovingShapesDataset', num_frames=4, size=16, split='train',
                 num_samples=4, seed=0,
                 pipeline=[dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]))
train_cfg = dict(max_iters=2, val_interval=1000)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = dict(batch_size=2, dataset=dict(
    num_prompts=2, split_file='trainlist01.txt', class_index_file='classInd.txt'))
test_evaluator = [
    dict(type='FrechetVideoDistance', extractor={extractor!r},
         reference_stats='reference_stats.npz'),
    dict(type='InceptionScore', extractor={extractor!r}, num_splits=1)]
custom_hooks = [dict(type='TrainableCheckpointHook'), dict(type='IterationSeedHook')]
default_hooks = dict(logger=dict(interval=1))
log_level = 'WARNING'
'''
#: per backbone: (config, folder writer, U-Net entries, schedule entries, temporal layers
#: that must train)
BACKBONES = {
    'modelscope': (osp.join(REPO, 'configs', 'modelscope_t2v.py'), write_modelscope_folder,
                   "folder=folder + '/unet'",
                   "\n    noise_schedule=dict(folder=folder + '/scheduler'),"
                   "\n    sampling_scheduler=dict(folder=folder + '/scheduler'),",
                   ('transformer_in.', '.temp_convs.', '.temp_modules.')),
    'animatediff': (osp.join(REPO, 'plugins', 'vidrd_animatediff', 'configs',
                             'animatediff_sd15.py'), write_sd15_folder,
                    "folder=folder + '/unet', motion_module=folder + '/motion_adapter'", '',
                    ('down_blocks.1.temp_modules.0.', 'mid_block.temp_modules.0.',
                     'up_blocks.0.temp_modules.1.')),
}


@pytest.fixture(scope='module')
def tiny_configs(tmp_path_factory):
    """Per backbone, its config on a tiny folder (4 frames of 16x16 pixels, 2 DDIM steps,
    training on moving shapes, the UCF-101 protocol on tiny split files). Paths in the configs
    are relative to the folder the tests run in (``in_config_root``): mmengine formats the
    config text with yapf, which takes seconds on long temporary paths."""
    root = tmp_path_factory.mktemp('backbone_tools')
    (root / 'trainlist01.txt').write_text('Archery/v_Archery_g01_c01.avi 2\n'
                                          'Biking/v_Biking_g01_c01.avi 3\n')
    (root / 'classInd.txt').write_text('1 ApplyEyeMakeup\n2 Archery\n3 Biking\n')
    identity = FEATURE_EXTRACTORS.build(EXTRACTOR).identity
    ReferenceStats(np.zeros(8), np.eye(8), 10, identity).save(str(root / 'reference_stats.npz'))
    sys.path.insert(0, osp.join(REPO, 'plugins', 'vidrd_animatediff'))  # its custom_imports
    configs = {}
    for name, (base, write_folder, unet, schedules, _) in BACKBONES.items():
        write_folder(str(root / name))
        configs[name] = str(root / f'{name}_tiny.py')
        with open(configs[name], 'w') as f:
            f.write(TINY_CONFIG.format(base=base, folder=name, unet=unet, schedules=schedules,
                                       tokenizer=TOKENIZER, extractor=EXTRACTOR))
    yield configs
    sys.path.remove(osp.join(REPO, 'plugins', 'vidrd_animatediff'))


@pytest.fixture(autouse=True)
def in_config_root(tiny_configs, monkeypatch):
    monkeypatch.chdir(osp.dirname(tiny_configs['modelscope']))


@pytest.fixture
def tiny_config(tiny_configs):
    return tiny_configs['modelscope']


@pytest.mark.filterwarnings('ignore:Matrix is singular')  # FVD of 2 videos: rank-1 covariance
@pytest.mark.parametrize('backbone', list(BACKBONES))
def test_train_the_temporal_layers_then_tools_test(backbone, tiny_configs, monkeypatch,
                                                   capsys):
    """2 iterations change only the temporal layers (trainable=('temporal',)); tools/test.py
    then scores the fine-tuned checkpoint with the protocol's dataset and metrics."""
    runner = build_runner(load_config(tiny_configs[backbone], work_dir='work_' + backbone))
    model = runner.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    runner.train()
    assert runner.iter == 2 and model.trainable == ('temporal',)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and trainable == {
        f'unet.{n}' for n, _ in model.unet.named_parameters() if is_temporal_key(n)}
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= trainable
    for kind in BACKBONES[backbone][4]:
        assert any(kind in n for n in changed), kind
    checkpoint = osp.join('work_' + backbone, 'iter_2.pth')

    monkeypatch.setattr(sys, 'argv', ['tools/test.py', tiny_configs[backbone], checkpoint,
                                      '--work-dir', 'test_' + backbone])
    runpy.run_path(osp.join(REPO, 'tools', 'test.py'), run_name='__main__')
    table = capsys.readouterr().out
    for metric in ('FVD', 'IS'):
        line = next(row for row in table.splitlines() if row.split()[:1] == [metric])
        assert np.isfinite(float(line.split()[1])), table


@pytest.mark.parametrize('ablation', sorted(
    name for name in os.listdir(osp.join(REPO, 'configs', 'ablations')) if name.endswith('.py')))
def test_every_ablation_config_applies_unchanged(tiny_config, ablation):
    """Each sampler config of configs/ablations/ (its strategies, over the model's N=4, M=2 and
    2 steps: a sampler config is an overlay) on the ModelScope backbone."""
    model = load_generation_model(tiny_config, None, osp.join(REPO, 'configs', 'ablations',
                                                              ablation))
    assert (model.sampler.num_frames, model.sampler.num_prompt_frames,
            model.sampler.num_inference_steps) == (4, 2, 2)
    model.sampler.progress = False
    video = model.generate(['a red circle moving left'], num_clips=2, seed=0)
    assert video.shape == (1, 3, 2 * 4, 16, 16) and torch.isfinite(video).all()


def test_tools_generate_writes_a_long_video(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [
        'tools/generate.py', tiny_config, '--prompt', 'a dog running', '--num-clips', '2',
        '--sampler-config', osp.join(REPO, 'configs', 'ablations', 'vidrd_full.py'),
        '--cfg-options', 'model.long_video_sampler.num_frames=6',
        '--out-dir', str(tmp_path), '--formats', 'gif'])
    runpy.run_path(osp.join(REPO, 'tools', 'generate.py'), run_name='__main__')
    gifs = [name for name in os.listdir(tmp_path) if name.endswith('.gif')]
    assert len(gifs) == 1
    from PIL import Image
    with Image.open(tmp_path / gifs[0]) as gif:
        assert gif.n_frames == 2 * 6  # the option over the model's N over the sampler config


def test_zeroscope_config_names_only_its_folder():
    cfg = load_config(osp.join(REPO, 'configs', 'zeroscope_v2.py'))
    missing = dict(missing_paths(cfg, ('model',)))
    assert sorted(missing) == sorted([
        'model.unet.folder', 'model.vae.folder', 'model.text_encoder.pretrained',
        'model.text_encoder.tokenizer', 'model.noise_schedule.folder',
        'model.sampling_scheduler.folder'])
    assert all(path.startswith('data/zeroscope_v2_576w/') for path in missing.values())
    assert cfg.model.long_video_sampler.num_frames == cfg.model.num_frames == 24


@pytest.mark.filterwarnings('ignore:Matrix is singular')
def test_tools_test_without_checkpoint_scores_the_pretrained_model(tiny_config, monkeypatch,
                                                                   capsys):
    """Zero-shot: tools/test.py CONFIG alone tests the weights the config names."""
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', tiny_config, '--work-dir', 'zero_shot'])
    runpy.run_path(osp.join(REPO, 'tools', 'test.py'), run_name='__main__')
    assert any(row.split()[:1] == ['FVD'] for row in capsys.readouterr().out.splitlines())
