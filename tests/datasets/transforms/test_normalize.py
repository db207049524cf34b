import numpy as np
import pytest

from vidrd.datasets.transforms import NormalizeVideo


def test_uint8_to_minus_one_one():
    frames = np.array([0, 255, 128], np.uint8).reshape(1, 1, 3, 1).repeat(3, -1)
    out = NormalizeVideo()(dict(frames=frames))
    assert out['frames'].dtype == np.float32 and out['normalized']
    np.testing.assert_allclose(out['frames'][0, 0, :, 0], [-1.0, 1.0, 0.5 / 127.5], atol=1e-6)
    with pytest.raises(ValueError, match='twice'):
        NormalizeVideo()(out)
