"""bash tools/dist_test.sh CONFIG CHECKPOINT 2: two gloo processes on the CPU (torchrun) give the
metrics of one tools/test.py process, and only rank 0 reports them."""
import json
import os
import os.path as osp
import runpy
import socket
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
#: FVD and IS with a small fixed-weight extractor (a random ShapesClassifier written to a file,
#: so both runs score with the same network whatever their random state)
CONFIG = '''_base_ = [{base!r}]
_extractor = dict(type='ShapesClassifier', weights='classifier.safetensors')
test_evaluator = [dict(type='FrechetVideoDistance', extractor=_extractor),
                  dict(type='InceptionScore', extractor=_extractor, num_splits=1)]
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _options(tiny: dict) -> list:
    """--cfg-options strings: the tiny model, 5 test videos (odd: rank 1 is padded) one per
    batch (each video's noise then depends on its index only)."""
    options = {k: v for k, v in tiny.items() if not k.startswith(('train_', 'custom_hooks'))}
    options.update({'test_dataloader.batch_size': 1, 'test_dataloader.dataset.num_samples': 5})
    return [f'{k}={v!r}'.replace(' ', '') if not isinstance(v, str) else f'{k}={v}'
            for k, v in options.items()]


@pytest.fixture
def setup(tmp_path, tiny_training_options, monkeypatch):
    from safetensors.torch import save_file
    from mmengine.config import Config

    from vidrd.evaluation.feature_extractors import ShapesClassifier
    from vidrd.evaluation.feature_extractors.shapes_classifier import (DEFAULT_COLORS,
                                                                       DEFAULT_DIRECTIONS,
                                                                       DEFAULT_SHAPES)
    from vidrd.registry import MODELS
    monkeypatch.chdir(tmp_path)  # relative paths: mmengine formats the config text slowly
    torch.manual_seed(0)
    classifier = ShapesClassifier(weights=None, allow_random_weights=True, feature_dim=8,
                                  resolution=16)
    save_file(classifier.network.state_dict(), 'classifier.safetensors', metadata=dict(
        colors=json.dumps(list(DEFAULT_COLORS)), shapes=json.dumps(list(DEFAULT_SHAPES)),
        directions=json.dumps(list(DEFAULT_DIRECTIONS)), width='16', feature_dim='8',
        resolution='16'))
    with open('tiny_test.py', 'w') as f:
        f.write(CONFIG.format(base=TINY))
    cfg = Config.fromfile('tiny_test.py')
    cfg.merge_from_dict(tiny_training_options)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict()}, 'model.pth')
    return _options(tiny_training_options)


@pytest.mark.slow
@pytest.mark.whole_cpu  # two torchrun processes of its own: run alone, after the others
def test_two_gloo_processes_give_the_metrics_of_one(setup, monkeypatch, capsys):
    env = dict(os.environ, OMP_NUM_THREADS='1', MASTER_PORT=str(_free_port()),
               PYTHONWARNINGS='ignore')
    done = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_test.sh'), 'tiny_test.py', 'model.pth', '2',
         '--work-dir', 'dist', '--out', 'dist.json', '--cfg-options', *setup],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('metrics written to dist.json') == 1  # rank 0 only
    dist = json.load(open('dist.json'))['metrics']

    monkeypatch.setattr(sys, 'argv', ['tools/test.py', 'tiny_test.py', 'model.pth', '--work-dir',
                                      'single', '--out', 'single.json', '--cfg-options', *setup])
    runpy.run_path(osp.join(REPO, 'tools', 'test.py'), run_name='__main__')
    single = json.load(open('single.json'))['metrics']
    assert dist.keys() == single.keys() and {'FVD', 'IS'} <= set(single) and single['FVD'] > 0
    for key, value in single.items():
        assert dist[key] == pytest.approx(value, rel=1e-5), key
