import numpy as np
import pytest

from vidrd.datasets.bad_samples import UnreadableSampleError
from vidrd.datasets.transforms import LoadImage


def test_load_png(tmp_path, media):
    path = media.write_png(str(tmp_path / 'a.png'), height=10, width=14)
    results = LoadImage()(dict(img_path=path))
    assert results['img'].shape == (10, 14, 3) and results['img'].dtype == np.uint8
    assert results['ori_shape'] == (10, 14)


def test_missing_and_corrupt_images(tmp_path):
    with pytest.raises(FileNotFoundError, match='gone.png'):
        LoadImage()(dict(img_path=str(tmp_path / 'gone.png')))
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'\x89PNG garbage')
    with pytest.raises(UnreadableSampleError, match='bad.png'):
        LoadImage()(dict(img_path=str(bad)))
