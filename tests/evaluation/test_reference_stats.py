"""Saved real-data statistics: round trips, streaming statistics, refusal of foreign files."""
import numpy as np
import pytest

from vidrd.evaluation.reference_stats import ReferenceStats, RunningFeatureStatistics
from vidrd.utils.checkpoint import WeightsNotFoundError


@pytest.mark.parametrize('suffix', ['.npz', '.safetensors'])
def test_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    stats = ReferenceStats.from_features(rng.normal(size=(50, 6)), 'i3d_kinetics400 (pretrained)')
    path = str(tmp_path / f'stats{suffix}')
    stats.save(path)
    loaded = ReferenceStats.load(path)
    assert np.array_equal(loaded.mean, stats.mean) and np.array_equal(loaded.cov, stats.cov)
    assert loaded.count == 50 and loaded.extractor == stats.extractor
    assert loaded.mean.dtype == np.float64


def test_npz_is_readable_without_pickle(tmp_path):
    stats = ReferenceStats(np.zeros(3), np.eye(3), 10, 'x')
    stats.save(str(tmp_path / 's.npz'))
    with np.load(str(tmp_path / 's.npz'), allow_pickle=False) as data:
        assert set(data.keys()) == {'mean', 'cov', 'count', 'extractor'}


def test_running_statistics_equal_numpy():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(301, 8)) * 5 + 1000  # a large offset: no cancellation allowed
    running = RunningFeatureStatistics()
    for chunk in np.array_split(features, 7):
        running.update(chunk)
    stats = running.finalize('x')
    assert stats.count == 301
    assert np.allclose(stats.mean, features.mean(0), rtol=1e-12)
    assert np.allclose(stats.cov, np.cov(features, rowvar=False), rtol=1e-9, atol=1e-9)


def test_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='compute_reference_stats'):
        ReferenceStats.load(str(tmp_path / 'missing.npz'))
    np.savez(str(tmp_path / 'other.npz'), mu=np.zeros(3))
    with pytest.raises(KeyError, match='missing'):
        ReferenceStats.load(str(tmp_path / 'other.npz'))
    stats = ReferenceStats(np.zeros(3), np.eye(3), 10, 'c3d_ucf101 (pretrained)')
    with pytest.raises(ValueError, match='recompute'):
        stats.check_extractor('i3d_kinetics400 (pretrained)')
    with pytest.raises(ValueError, match='.npz or .safetensors'):
        stats.save(str(tmp_path / 'stats.pkl'))
