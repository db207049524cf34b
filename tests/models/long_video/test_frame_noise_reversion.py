import pytest
import torch

from long_video_toys import make_context
from vidrd.models.long_video import FrameNoiseReversion


def test_prompt_frames_copy_reversed_previous_noise_exactly():
    n, m = 8, 3
    prev = torch.randn(2, 4, n, 5, 5)
    fresh = torch.randn(2, 4, n, 5, 5)
    out = FrameNoiseReversion().initial_noise(make_context(n, m, prev_noise=prev), 1, fresh)
    for j in range(m):  # z^{i,j}_0 = z^{i-1,N-1-j}_0
        assert torch.equal(out[:, :, j], prev[:, :, n - 1 - j])
    assert torch.equal(out[:, :, m:], fresh[:, :, m:])  # the other frames are not FNR's
    assert out.shape == fresh.shape


def test_first_clip_is_left_alone_and_inputs_not_modified():
    fresh = torch.randn(1, 4, 6, 3, 3)
    before = fresh.clone()
    out = FrameNoiseReversion().initial_noise(make_context(6, 2), 0, fresh)
    assert out is fresh and torch.equal(fresh, before)
    prev = torch.randn(1, 4, 6, 3, 3)
    prev_copy = prev.clone()
    FrameNoiseReversion().initial_noise(make_context(6, 2, prev_noise=prev), 1, fresh)
    assert torch.equal(prev, prev_copy) and torch.equal(fresh, before)


def test_refuses_zero_prompt_frames():
    with pytest.raises(ValueError, match='FrameNoiseReversion needs prompt frames'):
        FrameNoiseReversion().check(num_frames=8, num_prompt_frames=0)
