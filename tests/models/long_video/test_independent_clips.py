import torch

from long_video_toys import make_context
from vidrd.models.long_video import IndependentClips


def test_changes_nothing():
    strategy = IndependentClips()
    noise = torch.randn(1, 4, 6, 3, 3)
    ctx = make_context(6, 2, prev_noise=torch.randn(1, 4, 6, 3, 3))
    assert strategy.initial_noise(ctx, 1, noise) is noise
    assert strategy.before_step(ctx, 1, 0, noise) is noise
    assert not strategy.needs_step_latents
