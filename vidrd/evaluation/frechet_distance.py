"""Frechet distance between two Gaussians fitted to feature sets (FVD, FID).

    d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

(Heusel et al. 2017, eq. 6; Unterthiner et al. 2018 use it on I3D features for FVD). The number
is pytorch-fid's ``calculate_frechet_distance`` (``scipy.linalg.sqrtm``, its ``eps * I`` offset
for singular products), so it is comparable with published ones. What pytorch-fid lacks is kept
here: float64 inputs (it computes in the dtype it is given) and, where its ``sqrtm`` fails on
near-singular covariances (fewer samples than feature dimensions: it raises "Imaginary
component"), the exact eigenvalue route Tr (S_1 S_2)^{1/2} = sum_i sqrt(lambda_i(S_1^{1/2} S_2
S_1^{1/2})).
"""
import contextlib
import io
from typing import Tuple

import numpy as np

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
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2): pytorch-fid's
    ``calculate_frechet_distance``, fed float64, with the eigenvalue route where it gives up.

    pytorch-fid computes in its inputs' dtype, prints (does not log) its singular-product
    remedy, raises ``ValueError`` when ``sqrtm`` returns a large imaginary part and can return a
    tiny negative number for equal statistics; so the inputs are cast to float64 here, its
    message is logged, the eigenvalue form of Tr sqrt(S1 S2) replaces a failed ``sqrtm``, and
    the result is clamped at 0.

    Args:
        mu1, mu2: means ``(D,)``.
        sigma1, sigma2: covariances ``(D, D)``.
        eps: diagonal offset pytorch-fid adds to both covariances when ``sqrtm`` of their
            product is not finite.
    """
    from pytorch_fid.fid_score import calculate_frechet_distance
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f'statistics do not match: means {mu1.shape} vs {mu2.shape}, covariances '
            f'{sigma1.shape} vs {sigma2.shape} (were they computed with the same extractor?)')
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            distance = float(calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=eps))
    except ValueError:  # "Imaginary component ...": sqrtm failed on these covariances
        distance = float('nan')
    if printed.getvalue().strip():
        get_logger().warning(f'Frechet distance (pytorch-fid): {printed.getvalue().strip()}')
    if not np.isfinite(distance):
        get_logger().warning(
            'Frechet distance: sqrtm is unstable on these covariances (too few samples for '
            'the feature size?); using the eigenvalue form of Tr sqrt(S1 S2)')
        diff = mu1 - mu2
        distance = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2)
                         - 2 * _trace_sqrt_product_eigh(sigma1, sigma2))
    # a distance is >= 0; a tiny negative value is rounding of Tr sqrt on equal statistics
    return max(distance, 0.0)
