"""Run the frozen VAE encoder and text encoder once over a dataset (``tools/cache_latents.py``).

Rank r of a torchrun-style launch (``RANK`` / ``WORLD_SIZE`` in the environment) writes shards
r, r + W, r + 2W, ...; no process group is needed. Shards that exist and are complete are
skipped, so a killed run resumes. Crop k of sample i is drawn with numpy / torch / random seeded
from (seed, i, k), so a resumed or repeated run writes the same content.
"""
import os
import os.path as osp
import random
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config

from vidrd.datasets.latent_cache import (META_NAME, NEGATIVE_NAME, is_complete_shard,
                                         read_meta, shard_name, shard_range, write_json_atomic,
                                         write_shard)
from vidrd.utils.logging import get_logger

_PLAIN = (str, int, float, bool, type(None))


def _plain_metainfo(metainfo: dict) -> dict:
    """JSON-able metainfo entries (tuples of plain values become lists)."""
    out = {}
    for key, value in metainfo.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (list, tuple)) and all(isinstance(v, _PLAIN) for v in value):
            value = list(value)
        if isinstance(value, _PLAIN) or isinstance(value, list):
            out[key] = value
    return out


def build_frozen_encoders(cfg: Config):
    """The config's model, built as the Runner builds it (same seed, so randomly initialised
    frozen parts match training), in eval mode."""
    from mmengine.runner import set_random_seed
    from vidrd.registry import MODELS
    randomness = dict(cfg.get('randomness') or {})
    set_random_seed(randomness.get('seed', 0) or 0,
                    deterministic=randomness.get('deterministic', False))
    model = MODELS.build(cfg.model).eval()
    if not hasattr(model.vae, 'encode_video_moments'):
        raise TypeError(f'{type(model.vae).__name__} has no posterior moments '
                        '(encode_video_moments): caching needs a VAE such as AutoencoderKL')
    return model


def cache_latents(cfg: Config, out_dir: str, shard_size: int = 64, crops_per_clip: int = 1,
                  rank: Optional[int] = None, world_size: Optional[int] = None,
                  progress: bool = True) -> dict:
    """Cache ``cfg.train_dataloader.dataset`` into ``out_dir``; returns the cache's meta."""
    from vidrd.registry import DATASETS
    rank = int(os.environ.get('RANK', 0)) if rank is None else rank
    world_size = int(os.environ.get('WORLD_SIZE', 1)) if world_size is None else world_size
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    num_samples = len(dataset)
    meta = dict(num_samples=num_samples, shard_size=shard_size,
                num_shards=(num_samples + shard_size - 1) // shard_size,
                crops_per_clip=crops_per_clip, config=cfg.filename,
                dataset=cfg.train_dataloader.dataset.get('type'))
    os.makedirs(out_dir, exist_ok=True)
    if osp.isfile(osp.join(out_dir, META_NAME)):
        old = read_meta(out_dir)
        if {k: old.get(k) for k in ('num_samples', 'shard_size', 'crops_per_clip')} != \
                {k: meta[k] for k in ('num_samples', 'shard_size', 'crops_per_clip')}:
            raise ValueError(f'{out_dir} holds a cache of another layout ({old}); use another '
                             '--out folder or delete this one')
    model = build_frozen_encoders(cfg)
    seed = int((cfg.get('randomness') or {}).get('seed', 0) or 0)
    if rank == 0:
        write_json_atomic(meta, osp.join(out_dir, META_NAME))
        with torch.no_grad():
            negative = model.encode_text([model.negative_prompt])[0]
        write_shard(osp.join(out_dir, NEGATIVE_NAME), dict(negative_embedding=negative), [])
    mine = [k for k in range(meta['num_shards']) if k % world_size == rank]
    todo = [k for k in mine if not is_complete_shard(
        osp.join(out_dir, shard_name(k)), shard_range(k, shard_size, num_samples))]
    get_logger().info(f'cache_latents rank {rank}/{world_size}: {len(mine) - len(todo)} of '
                      f'{len(mine)} shards already complete in {out_dir}')
    from tqdm import tqdm
    bar = tqdm(total=sum(len(shard_range(k, shard_size, num_samples)) for k in todo),
               disable=not progress, desc=f'caching latents (rank {rank})', unit='clip')
    for k in todo:
        tensors, records = {}, []
        for i in shard_range(k, shard_size, num_samples):
            crops = []
            for crop in range(crops_per_clip):
                draw = (seed * 1_000_003 + i) * 1_009 + crop
                random.seed(draw)
                np.random.seed(draw % 2 ** 32)
                torch.manual_seed(draw)
                sample = dataset[i]
                with torch.no_grad():
                    crops.append(model.vae.encode_video_moments(sample['inputs'][None].float())[0])
            data_sample = sample['data_samples']
            with torch.no_grad():
                tensors[f'{i}.text_embedding'] = model.encode_text([data_sample.caption])[0]
            tensors[f'{i}.latent_moments'] = torch.stack(crops)
            record = dict(caption=data_sample.caption,
                          metainfo=_plain_metainfo(dict(data_sample.metainfo)))
            if 'class_label' in data_sample:
                record['class_label'] = int(data_sample.class_label)
            records.append(record)
            bar.update(1)
        write_shard(osp.join(out_dir, shard_name(k)), tensors, records)
    bar.close()
    return meta
