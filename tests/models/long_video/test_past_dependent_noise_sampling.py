"""PNS against its equation: z^{i,j}_0 = a/sqrt(1+a^2) z^{i-1,N-1-j}_0 + e, e ~ N(0, 1/(1+a^2)).

The statistical checks use about 10^5 samples per estimate and a fixed seed; the tolerances are
6 standard errors of the estimator, far below the gap to the usual mistakes (no scaling of e:
variance 1 + a^2/(1+a^2); weight a/(1+a^2) or a^2/(1+a^2) instead of a/sqrt(1+a^2))."""
import math

import pytest
import torch

from long_video_toys import make_context
from vidrd.models.long_video import PastDependentNoiseSampling

N, M = 8, 3


def _draw(alpha, seed=0):
    g = torch.Generator().manual_seed(seed)
    prev = torch.randn(4, 4, N, 48, 48, generator=g, dtype=torch.float64)
    fresh = torch.randn(4, 4, N, 48, 48, generator=g, dtype=torch.float64)
    ctx = make_context(N, M, prev_noise=prev)
    return prev, fresh, PastDependentNoiseSampling(alpha).initial_noise(ctx, 1, fresh)


@pytest.mark.parametrize('alpha', [0.0, 0.5, 1.0, 4.0])
def test_unit_variance_and_correlation_with_reversed_previous_noise(alpha):
    prev, fresh, out = _draw(alpha)
    n_samples = out[:, :, 0].numel() * (N - M)  # 36864 * 5
    new = out[:, :, M:]
    mirrored = prev[:, :, :N - M].flip(2)  # frame j >= M <-> previous frame N-1-j
    var = new.var().item()
    assert abs(var - 1.0) < 6 * math.sqrt(2.0 / n_samples), var
    rho = alpha / math.sqrt(1 + alpha ** 2)
    corr = torch.corrcoef(torch.stack([new.flatten(), mirrored.flatten()]))[0, 1].item()
    assert abs(corr - rho) < 6 * (1 - rho ** 2 + 1e-3) / math.sqrt(n_samples), (corr, rho)
    # no correlation with the previous frame of the same index (the reversal matters)
    same_index = prev[:, :, M:]
    corr_same = torch.corrcoef(torch.stack([new.flatten(), same_index.flatten()]))[0, 1].item()
    assert abs(corr_same) < 6 / math.sqrt(n_samples)


def test_exact_equation_and_ownership():
    alpha = 2.0
    prev, fresh, out = _draw(alpha, seed=1)
    for j in range(M, N):
        expected = alpha / math.sqrt(5.0) * prev[:, :, N - 1 - j] + fresh[:, :, j] / math.sqrt(5.0)
        torch.testing.assert_close(out[:, :, j], expected, rtol=0, atol=1e-12)
    assert torch.equal(out[:, :, :M], fresh[:, :, :M])  # prompt frames are not PNS's


def test_first_clip_unchanged():
    fresh = torch.randn(1, 4, N, 3, 3)
    assert PastDependentNoiseSampling(1.0).initial_noise(make_context(N, M), 0, fresh) is fresh


@pytest.mark.parametrize('alpha', [-0.1, float('nan'), float('inf')])
def test_refuses_bad_alpha(alpha):
    with pytest.raises(ValueError, match='alpha must be a finite number >= 0'):
        PastDependentNoiseSampling(alpha)
