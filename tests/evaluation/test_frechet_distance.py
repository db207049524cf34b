"""Frechet distance: pytorch-fid parity, identical sets, near-singular covariances."""
import numpy as np
import pytest

from vidrd.evaluation.frechet_distance import (_trace_sqrt_product_eigh, feature_statistics,
                                                frechet_distance)


def _stats(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _exact_distance(mu1, s1, mu2, s2):
    """Reference through symmetric eigendecompositions (exact for PSD covariances)."""
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * _trace_sqrt_product_eigh(s1, s2)


@pytest.mark.parametrize('dim', [8, 64])
def test_equals_pytorch_fid(dim):
    from pytorch_fid.fid_score import calculate_frechet_distance
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(500, dim))
    b = rng.normal(size=(400, dim)) @ rng.normal(size=(dim, dim)) * 0.3 + 0.5
    mu1, s1 = _stats(a)
    mu2, s2 = _stats(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    theirs = calculate_frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(float(theirs), rel=1e-6)
    assert ours == pytest.approx(_exact_distance(mu1, s1, mu2, s2), rel=1e-6)


def test_float32_inputs_are_computed_in_float64():
    from pytorch_fid.fid_score import calculate_frechet_distance
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 16)), rng.normal(size=(200, 16)) + 0.1
    mu1, s1 = _stats(a)
    mu2, s2 = _stats(b)
    ours = frechet_distance(mu1.astype(np.float32), s1.astype(np.float32),
                            mu2.astype(np.float32), s2.astype(np.float32))
    theirs = calculate_frechet_distance(mu1.astype(np.float32).astype(np.float64),
                                        s1.astype(np.float32).astype(np.float64),
                                        mu2.astype(np.float32).astype(np.float64),
                                        s2.astype(np.float32).astype(np.float64))
    assert ours == pytest.approx(float(theirs), rel=1e-6)


def test_zero_for_identical_sets():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(300, 32))
    mu, sigma = feature_statistics(features)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) <= 1e-6 * np.trace(sigma)


def test_identical_rank_deficient_sets_are_near_zero_and_never_negative():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(5, 64))  # covariance of rank 4 in 64 dimensions
    mu, sigma = feature_statistics(features)
    distance = frechet_distance(mu, sigma, mu, sigma)
    assert 0 <= distance <= 1e-4 * np.trace(sigma)


@pytest.mark.parametrize('samples,dim', [(3, 64), (10, 100), (40, 200)])
def test_near_singular_covariances_are_finite_and_correct(samples, dim):
    rng = np.random.default_rng(samples)
    a = rng.normal(size=(samples, dim))
    b = rng.normal(size=(samples, dim)) * 1.5 + 0.2
    mu1, s1 = _stats(a)
    mu2, s2 = _stats(b)
    distance = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(distance)
    assert distance == pytest.approx(_exact_distance(mu1, s1, mu2, s2), rel=1e-4)


def test_rank_deficient_features_in_a_subspace():
    # features living in a 3-dimensional subspace of R^50, many samples: exactly singular covariances
    rng = np.random.default_rng(4)
    basis = rng.normal(size=(3, 50))
    a = rng.normal(size=(400, 3)) @ basis
    b = (rng.normal(size=(400, 3)) * 2 + 1) @ basis
    mu1, s1 = _stats(a)
    mu2, s2 = _stats(b)
    distance = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(distance)
    assert distance == pytest.approx(_exact_distance(mu1, s1, mu2, s2), rel=1e-4)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match='at least 2'):
        feature_statistics(np.zeros((1, 4)))
    with pytest.raises(ValueError, match='same extractor'):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_eigen_route_replaces_a_failed_pytorch_fid_sqrtm(monkeypatch):
    """pytorch-fid raises "Imaginary component" when sqrtm fails; the eigenvalue route (which
    pytorch-fid lacks) then gives the exact distance."""
    import pytorch_fid.fid_score

    def failing(*args, **kwargs):
        raise ValueError('Imaginary component 0.5')

    monkeypatch.setattr(pytorch_fid.fid_score, 'calculate_frechet_distance', failing)
    rng = np.random.default_rng(6)
    mu1, s1 = _stats(rng.normal(size=(30, 12)))
    mu2, s2 = _stats(rng.normal(size=(30, 12)) + 0.3)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        _exact_distance(mu1, s1, mu2, s2), rel=1e-9)
