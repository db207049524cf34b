"""PYoCo mixed prior: unit variance per frame, correlation a^2/(1+a^2) between any two frames
(6-standard-error tolerances on ~10^5 samples, fixed seed)."""
import math

import pytest
import torch

from long_video_toys import make_context
from vidrd.models.long_video import MixedNoisePrior


@pytest.mark.parametrize('alpha', [0.5, 2.0])
def test_unit_variance_and_constant_correlation(alpha):
    fresh = torch.randn(8, 4, 4, 64, 64, generator=torch.Generator().manual_seed(3))
    out = MixedNoisePrior(alpha).initial_noise(make_context(4, 0), 0, fresh).double()
    n = out[:, :, 0].numel()
    for f in range(4):
        assert abs(out[:, :, f].var().item() - 1.0) < 6 * math.sqrt(2.0 / n)
    rho = alpha ** 2 / (1 + alpha ** 2)
    for f, g in [(0, 1), (0, 3), (1, 2)]:
        corr = torch.corrcoef(torch.stack([out[:, :, f].flatten(), out[:, :, g].flatten()]))[0, 1]
        # the shared part is one draw per (B, C, h, w) position: ~n samples
        assert abs(corr.item() - rho) < 6 * (1 - rho ** 2 + 1e-3) / math.sqrt(n), (corr, rho)


def test_first_clip_only_by_default():
    fresh = torch.randn(1, 4, 4, 3, 3)
    assert MixedNoisePrior(1.0).initial_noise(make_context(4, 0), 1, fresh) is fresh
    assert MixedNoisePrior(1.0, all_clips=True).initial_noise(make_context(4, 0), 1, fresh) \
        is not fresh


def test_refuses_negative_alpha():
    with pytest.raises(ValueError, match='alpha'):
        MixedNoisePrior(-1.0)
