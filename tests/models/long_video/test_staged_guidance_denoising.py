import pytest
import torch

from long_video_toys import make_context
from vidrd.models.long_video import StagedGuidanceDenoising

N = 8


def _prev_steps(steps):
    """z^{i-1,f}_s filled with the value 1000 * s + f so a copy says where it came from."""
    return [torch.full((1, 2, N, 3, 3), 0.0) + (1000.0 * s + torch.arange(N).view(1, 1, N, 1, 1))
            for s in range(steps)]


# (M, S, beta) -> {j: steps s with s < (M - j) * (S / M) * beta}, worked out by hand
CASES = {
    (4, 10, 0.4): {0: range(4), 1: range(3), 2: range(2), 3: range(1)},
    (2, 6, 1.0): {0: range(6), 1: range(3)},
    (3, 9, 0.5): {0: range(5), 1: range(3), 2: range(2)},
    (3, 10, 0.0): {0: range(0), 1: range(0), 2: range(0)},
}


@pytest.mark.parametrize('m,steps,beta', list(CASES))
def test_replaces_frame_j_exactly_at_steps_below_the_stage_end(m, steps, beta):
    expected = CASES[m, steps, beta]
    dsg = StagedGuidanceDenoising(beta)
    ctx = make_context(N, m, steps=steps, prev_steps=_prev_steps(steps))
    for s in range(steps):
        latents = torch.full((1, 2, N, 3, 3), -1.0)
        out = dsg.before_step(ctx, 1, s, latents)
        assert torch.equal(latents, torch.full_like(latents, -1.0))  # input not modified
        for f in range(N):
            frame = out[:, :, f]
            if f < m and s in expected[f]:
                assert torch.equal(frame, torch.full_like(frame, 1000.0 * s + (N - 1 - f))), (f, s)
            else:
                assert torch.equal(frame, torch.full_like(frame, -1.0)), (f, s)


def test_first_clip_untouched_and_needs_step_latents():
    dsg = StagedGuidanceDenoising(1.0)
    assert dsg.needs_step_latents
    latents = torch.randn(1, 2, N, 3, 3)
    assert dsg.before_step(make_context(N, 3), 0, 0, latents) is latents


@pytest.mark.parametrize('beta', [-0.01, 1.01])
def test_refuses_beta_outside_unit_interval(beta):
    with pytest.raises(ValueError, match=r'beta must be in \[0, 1\]'):
        StagedGuidanceDenoising(beta)


def test_refuses_zero_prompt_frames():
    with pytest.raises(ValueError, match='StagedGuidanceDenoising needs prompt frames'):
        StagedGuidanceDenoising(0.2).check(num_frames=8, num_prompt_frames=0)
