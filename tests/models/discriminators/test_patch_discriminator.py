"""Patch discriminators: output shapes, per-frame independence of the 2D one."""
import pytest
import torch

from vidrd.models.discriminators import PatchDiscriminator2D, PatchDiscriminator3D
from vidrd.registry import MODELS


@pytest.mark.parametrize('norm', ['batch', 'group', 'none'])
def test_shapes(norm):
    video = torch.randn(2, 3, 4, 16, 16)
    d2 = PatchDiscriminator2D(base_channels=8, num_layers=2, norm=norm)
    d3 = PatchDiscriminator3D(base_channels=8, num_layers=2, norm=norm)
    assert d2(video).shape == (8, 1, 2, 2)
    assert d3(video).shape == (2, 1, 4, 2, 2)


def test_2d_judges_frames_independently_and_3d_mixes_them():
    torch.manual_seed(0)
    video = torch.randn(1, 3, 4, 16, 16)
    other = video.clone()
    other[:, :, 0] = torch.randn(3, 16, 16)
    d2 = PatchDiscriminator2D(base_channels=8, num_layers=2, norm='none').eval()
    d3 = PatchDiscriminator3D(base_channels=8, num_layers=2, norm='none').eval()
    with torch.no_grad():
        assert torch.equal(d2(video)[1:], d2(other)[1:])
        assert not torch.allclose(d3(video)[:, :, 1], d3(other)[:, :, 1])


def test_registered():
    d = MODELS.build(dict(type='PatchDiscriminator3D', base_channels=8, num_layers=2))
    assert isinstance(d, PatchDiscriminator3D)
    with pytest.raises(ValueError, match='norm'):
        PatchDiscriminator2D(norm='spectral')
