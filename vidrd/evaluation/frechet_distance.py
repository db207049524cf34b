"""Frechet distance between two Gaussians fitted to feature sets (FVD, FID).

    d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

(Heusel et al. 2017, eq. 6; Unterthiner et al. 2018 use it on I3D features for FVD). Computed in
float64 with ``scipy.linalg.sqrtm`` exactly as pytorch-fid does, so numbers are comparable with
published ones; near-singular covariances (fewer samples than feature dimensions) are handled
with the same ``eps * I`` offset, and, should ``sqrtm`` still fail, with an exact eigenvalue
route: Tr (S_1 S_2)^{1/2} = sum_i sqrt(lambda_i(S_1^{1/2} S_2 S_1^{1/2})).
"""
from typing import Tuple

import numpy as np
from scipy import linalg

from vidrd.utils.logging import get_logger


def feature_statistics(features) -> Tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (float64) of ``features`` ``(N, D)``."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f'features must be (N, D), got shape {features.shape}')
    if features.shape[0] < 2:
        raise ValueError(
            f'a covariance needs at least 2 feature vectors, got {features.shape[0]}; '
            'evaluate more videos')
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr (S_1 S_2)^{1/2} through symmetric eigendecompositions (exact for PSD inputs)."""
    eigvals, eigvecs = np.linalg.eigh(sigma1)
    sqrt_sigma1 = (eigvecs * np.sqrt(np.clip(eigvals, 0, None))) @ eigvecs.T
    middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    middle = (middle + middle.T) / 2  # symmetric up to rounding; eigvalsh needs it exactly
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    Args:
        mu1, mu2: means ``(D,)``.
        sigma1, sigma2: covariances ``(D, D)``.
        eps: diagonal offset added to both covariances when ``sqrtm`` of their product is not
            finite (pytorch-fid's remedy for singular products).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f'statistics do not match: means {mu1.shape} vs {mu2.shape}, covariances '
            f'{sigma1.shape} vs {sigma2.shape} (were they computed with the same extractor?)')
    diff = mu1 - mu2

    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        get_logger().warning(
            f'Frechet distance: singular covariance product; adding {eps} to the diagonals')
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))

    if np.isfinite(covmean).all() and (
            not np.iscomplexobj(covmean)
            or np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)):
        # small imaginary parts are rounding noise of sqrtm on a non-symmetric product
        tr_covmean = float(np.trace(covmean).real)
    else:
        get_logger().warning(
            'Frechet distance: sqrtm is unstable on these covariances (too few samples for '
            'the feature size?); using the eigenvalue form of Tr sqrt(S1 S2)')
        tr_covmean = _trace_sqrt_product_eigh(sigma1, sigma2)

    distance = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)
    # a distance is >= 0; a tiny negative value is rounding of Tr sqrt on equal statistics
    return max(distance, 0.0)
