"""Fixtures of the long-video tests (the stand-ins live in long_video_toys.py)."""
import pytest
import torch

from long_video_toys import FrameWiseToyUNet, LinearToyScheduler


@pytest.fixture
def toy_unet():
    return FrameWiseToyUNet()


@pytest.fixture
def toy_scheduler():
    return LinearToyScheduler()


@pytest.fixture
def embeds():
    """(cond, uncond), each (B=2, L=3, D=4)."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
