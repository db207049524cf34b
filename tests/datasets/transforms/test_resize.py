import numpy as np
import pytest

from vidrd.datasets.transforms import Resize


def test_shorter_side_keeps_aspect():
    frames = np.full((3, 20, 40, 3), 100, np.uint8)
    results = Resize(scale=10)(dict(frames=frames))
    assert results['frames'].shape == (3, 10, 20, 3) and results['frames'].dtype == np.uint8
    assert results['img_shape'] == (10, 20)
    assert np.all(results['frames'] == 100)  # a flat image stays flat


def test_exact_size_and_portrait():
    frames = np.zeros((2, 30, 10, 3), np.uint8)
    assert Resize(scale=5)(dict(frames=frames))['frames'].shape == (2, 15, 5, 3)
    assert Resize(scale=(8, 12))(dict(frames=frames))['frames'].shape == (2, 8, 12, 3)
    with pytest.raises(ValueError):
        Resize(scale=(8, 0))
