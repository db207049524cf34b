"""FVD / frame FID as mmengine metrics: features accumulated per sample, real statistics from
the data samples or a saved file, errors that say what to do."""
import sys
import os.path as osp

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tiny_extractor import TinyVideoExtractor  # noqa: E402

from vidrd.evaluation.frechet_distance import feature_statistics, frechet_distance  # noqa: E402
from vidrd.evaluation.metrics import FrameFID, FrechetVideoDistance  # noqa: E402
from vidrd.evaluation.reference_stats import ReferenceStats  # noqa: E402
from vidrd.registry import METRICS  # noqa: E402
from vidrd.utils.checkpoint import WeightsNotFoundError  # noqa: E402


def _videos(seed, count, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(3, 8, 6, 6, generator=g) * 0.8 + shift).clamp(0, 1) for _ in range(count)]


def _samples(fake, real):
    # VideoDataSample convention: videos in [-1, 1]
    return [dict(video=f * 2 - 1, gt_video=r * 2 - 1) for f, r in zip(fake, real)]


def test_fvd_equals_frechet_distance_of_the_features():
    fake, real = _videos(0, 20, 0.1), _videos(1, 20)
    metric = FrechetVideoDistance(extractor=TinyVideoExtractor(), batch_size=3)
    samples = _samples(fake, real)
    for start in range(0, 20, 6):
        metric.process(None, samples[start:start + 6])
    assert len(metric.results) == 20 and isinstance(metric.results[0]['fake'], np.ndarray)
    value = metric.evaluate(20)['FVD']
    extractor = TinyVideoExtractor()
    f = extractor.extract_features(torch.stack(fake)).double().numpy()
    r = extractor.extract_features(torch.stack(real)).double().numpy()
    assert value == pytest.approx(frechet_distance(*feature_statistics(f), *feature_statistics(r)),
                                  rel=1e-5)
    assert value > 0


def test_builds_from_the_registry_with_an_extractor_config():
    metric = METRICS.build(dict(type='FrechetVideoDistance',
                                extractor=dict(type='C3D', weights=None, allow_random_weights=True)))
    assert metric.extractor.name == 'c3d_ucf101'


def test_reference_stats_file_replaces_real_videos(tmp_path):
    fake, real = _videos(0, 12, 0.1), _videos(1, 12)
    path = str(tmp_path / 'real.npz')
    saving = FrechetVideoDistance(extractor=TinyVideoExtractor(), save_reference_stats=path)
    saving.process(None, _samples(fake, real))
    on_the_fly = saving.evaluate(12)['FVD']
    stats = ReferenceStats.load(path)
    assert stats.count == 12 and stats.extractor == TinyVideoExtractor().identity

    reusing = FrechetVideoDistance(extractor=TinyVideoExtractor(), reference_stats=path)
    reusing.process(None, [dict(video=f * 2 - 1) for f in fake])  # no gt_video needed
    assert reusing.evaluate(12)['FVD'] == pytest.approx(on_the_fly, rel=1e-9)


def test_reference_stats_of_another_extractor_are_refused(tmp_path):
    path = str(tmp_path / 'other.npz')
    ReferenceStats(np.zeros(6), np.eye(6), 10, 'c3d_ucf101 (pretrained; ...)').save(path)
    metric = FrechetVideoDistance(extractor=TinyVideoExtractor(), reference_stats=path)
    metric.process(None, [dict(video=v * 2 - 1) for v in _videos(0, 4)])
    with pytest.raises(ValueError, match='recompute'):
        metric.evaluate(4)


def test_clear_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='compute_reference_stats'):
        FrechetVideoDistance(extractor=TinyVideoExtractor(), reference_stats=str(tmp_path / 'x.npz'))
    metric = FrechetVideoDistance(extractor=TinyVideoExtractor())
    with pytest.raises(KeyError, match='reference_stats'):
        metric.process(None, [dict(video=torch.zeros(3, 8, 6, 6))])
    with pytest.raises(ValueError, match=r'\(3, F, H, W\)'):
        metric.process(None, [dict(video=torch.zeros(8, 3, 6, 6), gt_video=torch.zeros(8, 3, 6, 6))])
    with pytest.raises(ValueError, match='per-frame'):
        FrechetVideoDistance(extractor=TinyVideoExtractor(frame_level=True))
    with pytest.raises(ValueError, match='per-frame'):
        FrameFID(extractor=TinyVideoExtractor())


def test_video_range_zero_one_and_uint8():
    fake, real = _videos(0, 6, 0.1), _videos(1, 6)
    minus_one = FrechetVideoDistance(extractor=TinyVideoExtractor())
    minus_one.process(None, _samples(fake, real))
    zero_one = FrechetVideoDistance(extractor=TinyVideoExtractor(), video_range=(0, 1))
    zero_one.process(None, [dict(video=f, gt_video=r) for f, r in zip(fake, real)])
    as_uint8 = FrechetVideoDistance(extractor=TinyVideoExtractor())
    as_uint8.process(None, [dict(video=(f * 255).round().to(torch.uint8),
                                 gt_video=(r * 255).round().to(torch.uint8)) for f, r in zip(fake, real)])
    a, b, c = (m.evaluate(6)['FVD'] for m in (minus_one, zero_one, as_uint8))
    assert a == pytest.approx(b, rel=1e-5)
    assert c == pytest.approx(a, rel=1e-2)


def test_frame_fid_uses_every_frame():
    fake, real = _videos(0, 5, 0.1), _videos(1, 5)
    metric = FrameFID(extractor=TinyVideoExtractor(frame_level=True))
    metric.process(None, _samples(fake, real))
    value = metric.evaluate(5)['FID']
    extractor = TinyVideoExtractor(frame_level=True)
    f = extractor.extract_features(torch.stack(fake)).reshape(-1, 6).double().numpy()
    r = extractor.extract_features(torch.stack(real)).reshape(-1, 6).double().numpy()
    assert f.shape == (40, 6)
    assert value == pytest.approx(frechet_distance(*feature_statistics(f), *feature_statistics(r)),
                                  rel=1e-5)


def test_videos_of_different_sizes_in_one_batch():
    metric = FrechetVideoDistance(extractor=TinyVideoExtractor())
    videos = [torch.rand(3, 8, 6, 6), torch.rand(3, 8, 10, 12), torch.rand(3, 8, 6, 6)]
    metric.process(None, [dict(video=v * 2 - 1, gt_video=v * 2 - 1) for v in videos])
    assert [r['fake'].shape for r in metric.results] == [(6,)] * 3
