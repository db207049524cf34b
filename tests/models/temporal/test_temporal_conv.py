"""Temp-Conv on the frame-batched layout: the same numbers in both memory formats, and no
permute copies for a channels-last input."""
import torch
from copy_counting import copy_ops

from vidrd.models.temporal import TemporalConv


def test_temporal_conv_on_channels_last_makes_no_copies():
    torch.manual_seed(0)
    layer = TemporalConv(32, dropout=0.0, zero_init=False).eval()
    x = torch.randn(2 * 4, 32, 3, 5)
    with torch.no_grad():
        plain = layer(x, 4)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        fast = layer(x_cl, 4)
        torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
        assert copy_ops(layer, x_cl, 4, weights=layer) == 0
        # the contiguous layout needs permute copies
        assert copy_ops(layer, x, 4, weights=layer) > 0


def test_temporal_conv_equals_a_conv3d_over_frames():
    """The (3, 1) Conv2d on (B, C, F, H*W) is the original's (3, 1, 1) Conv3d on (B, C, F, H, W)."""
    torch.manual_seed(0)
    layer = TemporalConv(32, num_layers=2, dropout=0.0, zero_init=False).eval()
    x = torch.randn(2 * 4, 32, 3, 5)
    video = x.view(2, 4, 32, 3, 5).transpose(1, 2)
    with torch.no_grad():
        expected = x + layer.convs(video).transpose(1, 2).reshape(x.shape)
        torch.testing.assert_close(layer(x, 4), expected, rtol=1e-5, atol=1e-5)
        assert torch.equal(layer(x[:1], 1), x[:1])  # one frame: unchanged
