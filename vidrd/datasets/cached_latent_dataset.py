"""Training samples read from a latent cache instead of decoded and encoded videos."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.dataset import BaseDataset

from vidrd.registry import DATASETS

from .latent_cache import (NEGATIVE_NAME, LatentCacheError, read_meta, read_shard_samples,
                           read_tensor, shard_name, shard_range)

DEFAULT_PIPELINE = (dict(type='LoadCachedLatents'), dict(type='PackLatentInputs'))


@DATASETS.register_module()
class CachedLatentDataset(BaseDataset):
    """The samples of a dataset cached by ``tools/cache_latents.py``: index i is sample i of
    the cached dataset (same ``sample_idx``, so VidRD draws the same noise for it).

    Every shard is checked when the dataset is built (headers only): a missing or corrupt
    shard stops the run at once, naming the file. Pipeline (default): ``LoadCachedLatents``
    (posterior moments of one of the K cached crops, text embedding) -> ``PackLatentInputs``.

    Args:
        cache_dir: the folder given to ``tools/cache_latents.py --out``.
    """

    def __init__(self, cache_dir: str, pipeline: Optional[Sequence] = None, **kwargs):
        self.cache_dir = cache_dir
        self.cache_meta = read_meta(cache_dir)
        super().__init__(data_root='', pipeline=list(pipeline or DEFAULT_PIPELINE),
                         serialize_data=False, **kwargs)

    def load_data_list(self):
        meta, folder = self.cache_meta, self.cache_dir
        negative_path = osp.join(folder, NEGATIVE_NAME)
        if not osp.isfile(negative_path):
            raise LatentCacheError(f'{negative_path} is missing (written first by '
                                   'tools/cache_latents.py); rerun it on this folder')
        negative = read_tensor(negative_path, 'negative_embedding')
        data_list = []
        for k in range(meta['num_shards']):
            path = osp.join(folder, shard_name(k))
            indices = shard_range(k, meta['shard_size'], meta['num_samples'])
            for i, record in zip(indices, read_shard_samples(path, indices)):
                data_list.append(dict(record, shard_path=path, cache_key=str(i),
                                      negative_embedding=negative))
        return data_list
