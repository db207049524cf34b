"""PYoCo progressive prior: unit variance per frame, correlation (a/sqrt(1+a^2))^|f-g|."""
import math

import pytest
import torch

from long_video_toys import make_context
from vidrd.models.long_video import ProgressiveNoisePrior


@pytest.mark.parametrize('alpha', [0.5, 2.0])
def test_unit_variance_and_geometric_correlation(alpha):
    fresh = torch.randn(8, 4, 5, 64, 64, generator=torch.Generator().manual_seed(4))
    out = ProgressiveNoisePrior(alpha).initial_noise(make_context(5, 0), 0, fresh).double()
    n = out[:, :, 0].numel()
    for f in range(5):
        assert abs(out[:, :, f].var().item() - 1.0) < 6 * math.sqrt(2.0 / n)
    r = alpha / math.sqrt(1 + alpha ** 2)
    for f, g in [(0, 1), (1, 3), (0, 4)]:
        rho = r ** abs(f - g)
        corr = torch.corrcoef(torch.stack([out[:, :, f].flatten(), out[:, :, g].flatten()]))[0, 1]
        assert abs(corr.item() - rho) < 6 * (1 - rho ** 2 + 1e-3) / math.sqrt(n), (corr, rho)
    assert torch.equal(out[:, :, 0], fresh[:, :, 0].double())


def test_first_clip_only_by_default():
    fresh = torch.randn(1, 4, 4, 3, 3)
    assert ProgressiveNoisePrior(1.0).initial_noise(make_context(4, 0), 2, fresh) is fresh
