"""Transforms of cached samples (``CachedLatentDataset``)."""
from typing import Sequence

import numpy as np

from vidrd.datasets.latent_cache import read_tensor
from vidrd.datasets.video_data_sample import VideoDataSample
from vidrd.registry import TRANSFORMS

from .formatting import DEFAULT_META_KEYS


@TRANSFORMS.register_module()
class LoadCachedLatents:
    """Read one sample from its shard: ``latent_moments`` (2C, F, h, w), one of the K crops
    cached for the clip drawn at random (K = 1: always the same), and ``text_embedding``
    (L, D)."""

    def __call__(self, results: dict) -> dict:
        path, key = results['shard_path'], results['cache_key']
        moments = read_tensor(path, f'{key}.latent_moments')
        crop = int(np.random.randint(len(moments))) if len(moments) > 1 else 0
        results['latent_moments'] = moments[crop]
        results['cached_crop'] = crop
        results['text_embedding'] = read_tensor(path, f'{key}.text_embedding')
        return results


@TRANSFORMS.register_module()
class PackLatentInputs:
    """``results`` -> ``dict(inputs=dict(latent_moments, text_embedding),
    data_samples=VideoDataSample)`` with the caption, ``negative_embedding`` (what a dropped
    caption is replaced by) and the cached metainfo."""

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS + ('cached_crop',)):
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        metainfo = dict(results.get('metainfo') or {})
        metainfo.update({k: results[k] for k in self.meta_keys if k in results})
        sample = VideoDataSample(metainfo=metainfo)
        sample.caption = str(results['caption'])
        if results.get('class_label') is not None:
            sample.class_label = int(results['class_label'])
        sample.negative_embedding = results['negative_embedding']
        inputs = dict(latent_moments=results['latent_moments'],
                      text_embedding=results['text_embedding'])
        return dict(inputs=inputs, data_samples=sample)
