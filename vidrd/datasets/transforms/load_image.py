"""Decode an image file with Pillow."""
import os.path as osp

import numpy as np

from vidrd.registry import TRANSFORMS
from ..bad_samples import UnreadableSampleError


@TRANSFORMS.register_module()
class LoadImage:
    """Read ``results['img_path']`` as RGB.

    Adds ``img`` uint8 (H, W, 3), ``ori_shape`` and ``img_shape`` (H, W). A missing file raises
    ``FileNotFoundError``, an undecodable one ``UnreadableSampleError``; both name the path and
    make the dataset skip and report the sample.
    """

    def __call__(self, results: dict) -> dict:
        from PIL import Image, UnidentifiedImageError
        path = results['img_path']
        if not osp.isfile(path):
            raise FileNotFoundError(f'image file not found: {path}')
        try:
            with Image.open(path) as image:
                image = image.convert('RGB')
                array = np.asarray(image, dtype=np.uint8).copy()
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise UnreadableSampleError(path, f'{type(error).__name__}: {error}') from error
        results['img'] = array
        results['ori_shape'] = array.shape[:2]
        results['img_shape'] = array.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
