import torch

from long_video_toys import make_context
from vidrd.models.long_video import SharedNoise


def test_reuses_previous_initial_noise_whole():
    prev = torch.randn(1, 4, 6, 3, 3)
    fresh = torch.randn(1, 4, 6, 3, 3)
    strategy = SharedNoise()
    assert strategy.initial_noise(make_context(6, 0), 0, fresh) is fresh
    assert torch.equal(strategy.initial_noise(make_context(6, 0, prev_noise=prev), 1, fresh), prev)
