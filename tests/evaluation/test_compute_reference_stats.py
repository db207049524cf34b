"""Reference statistics of a dataset config: the library function and the thin tool."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from vidrd.evaluation.feature_extractors import ShapesClassifier
from vidrd.evaluation.reference_stats import ReferenceStats, compute_reference_stats

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXTRACTOR = dict(type='ShapesClassifier', weights=None, allow_random_weights=True)
CONFIG = """
default_scope = 'vidrd'
train_dataloader = dict(dataset=dict(
    type='MovingShapesDataset', num_samples=10, num_frames=4, size=16, seed=3,
    pipeline=[dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]))
test_evaluator = [dict(type='FrechetVideoDistance', reference_stats='{out}',
                       extractor=dict(type='ShapesClassifier', weights=None,
                                      allow_random_weights=True))]
"""


def _direct_features(num_videos):
    from vidrd.datasets import MovingShapesDataset
    dataset = MovingShapesDataset(num_samples=10, num_frames=4, size=16, seed=3)
    index = np.linspace(0, 9, num_videos).round().astype(int)
    videos = torch.stack([torch.from_numpy(dataset.render(i)).permute(3, 0, 1, 2) for i in index])
    torch.manual_seed(0)  # the extractor's random init
    return ShapesClassifier(weights=None, allow_random_weights=True).extract_features(videos).double().numpy()


def test_function_matches_direct_computation(tmp_path):
    out = str(tmp_path / 'stats.npz')
    cfg = Config.fromstring(CONFIG.format(out=out), file_format='.py')
    torch.manual_seed(0)
    stats = compute_reference_stats(cfg, batch_size=3, progress=False)  # out + extractor from the metric
    assert osp.isfile(out) and stats.count == 10
    direct = _direct_features(10)
    assert np.allclose(stats.mean, direct.mean(0), atol=1e-5)
    assert np.allclose(stats.cov, np.cov(direct, rowvar=False), atol=1e-5)
    assert stats.extractor == ShapesClassifier(weights=None, allow_random_weights=True).identity


def test_errors_name_what_is_missing(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='MovingShapesDataset'))))
    with pytest.raises(ValueError, match='test_evaluator'):
        compute_reference_stats(cfg, out=str(tmp_path / 's.npz'))
    with pytest.raises(KeyError, match='val_dataloader'):
        compute_reference_stats(cfg, out=str(tmp_path / 's.npz'), extractor=EXTRACTOR,
                                dataloader='val_dataloader')


@pytest.mark.slow
def test_tool(tmp_path):
    config = tmp_path / 'shapes_stats.py'
    config.write_text(CONFIG.format(out=str(tmp_path / 'unused.npz')))
    out = str(tmp_path / 'stats.safetensors')
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'compute_reference_stats.py'), str(config),
         '--out', out, '--num-videos', '4', '--batch-size', '2'],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = ReferenceStats.load(out)
    assert stats.count == 4 and stats.mean.shape == (128,)
