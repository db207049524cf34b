import numpy as np
import pytest

from vidrd.datasets.transforms import CenterCrop, RandomCrop


def _frames():
    y, x = np.mgrid[0:10, 0:20]
    frame = np.stack([x, y, np.zeros_like(x)], -1).astype(np.uint8)
    return np.stack([frame] * 3)


def test_center_crop():
    results = CenterCrop(size=(4, 6))(dict(frames=_frames()))
    assert results['frames'].shape == (3, 4, 6, 3)
    assert results['crop_box'] == (7, 3, 13, 7)
    assert results['frames'][0, 0, 0, 0] == 7 and results['frames'][0, 0, 0, 1] == 3


def test_random_crop_same_box_for_all_frames():
    np.random.seed(1)
    for _ in range(5):
        results = RandomCrop(size=5)(dict(frames=_frames()))
        x0, y0, x1, y1 = results['crop_box']
        assert 0 <= x0 and x1 <= 20 and 0 <= y0 and y1 <= 10
        assert np.all(results['frames'] == results['frames'][0])
        assert results['frames'][0, 0, 0, 0] == x0


def test_crop_larger_than_frames_says_resize():
    with pytest.raises(ValueError, match='Resize'):
        CenterCrop(size=16)(dict(frames=_frames()))
