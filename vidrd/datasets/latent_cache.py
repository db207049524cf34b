"""A latent cache on disk: VAE posterior moments and text embeddings of a dataset, in shards.

Layout of a cache folder (written by ``tools/cache_latents.py``)::

    cache_meta.json                  what was cached: sample count, shards, crops per clip, config
    negative_embedding.safetensors   text embedding of the model's negative prompt ("")
    shard-00000.safetensors ...      samples [k * shard_size, (k + 1) * shard_size) of shard k:
                                     "{i}.latent_moments" (K, 2C, F, h, w) float32, K crops
                                     "{i}.text_embedding" (L, D)
                                     metadata "samples": JSON list of {caption, metainfo} per i

Each shard is written whole under a temporary name and renamed, so a shard that exists is
complete; an interrupted caching run resumes at the first missing shard.
"""
import json
import os.path as osp
from typing import Dict, List, Optional

import torch

from vidrd.utils.io import atomic_write

META_NAME = 'cache_meta.json'
NEGATIVE_NAME = 'negative_embedding.safetensors'
RERUN_HINT = ('rerun `python tools/cache_latents.py CONFIG --out {folder}` to write it (caching '
              'resumes: complete shards are kept)')


class LatentCacheError(RuntimeError):
    """A latent cache folder is incomplete or damaged."""


def shard_name(index: int) -> str:
    return f'shard-{index:05d}.safetensors'


def shard_range(index: int, shard_size: int, num_samples: int) -> range:
    return range(index * shard_size, min((index + 1) * shard_size, num_samples))


def read_meta(folder: str) -> dict:
    path = osp.join(folder, META_NAME)
    if not osp.isfile(path):
        raise LatentCacheError(f'{path} not found: {folder!r} is not a latent cache (or caching '
                               'never started); ' + RERUN_HINT.format(folder=folder))
    with open(path) as f:
        return json.load(f)


def write_json_atomic(obj, path: str) -> None:
    with atomic_write(path, 'w') as f:
        json.dump(obj, f, indent=1)


def write_shard(path: str, tensors: Dict[str, torch.Tensor], samples: List[dict]) -> None:
    """One shard, atomically (temporary name in the same folder, then rename)."""
    from safetensors.torch import save_file
    with atomic_write(path) as f:
        save_file({k: v.contiguous() for k, v in tensors.items()}, f.name,
                  metadata=dict(samples=json.dumps(samples)))


def read_shard_samples(path: str, expected: Optional[range] = None) -> List[dict]:
    """The per-sample records of a shard (reads its header only); a missing, unreadable or
    incomplete shard raises :class:`LatentCacheError` naming the file."""
    folder = osp.dirname(path)
    if not osp.isfile(path):
        raise LatentCacheError(f'latent cache shard {path} is missing; '
                               + RERUN_HINT.format(folder=folder))
    from safetensors import safe_open
    try:
        with safe_open(path, 'pt') as f:
            samples = json.loads((f.metadata() or {})['samples'])
            keys = set(f.keys())
    except Exception as err:  # safetensors raises its own errors for truncated / bad headers
        raise LatentCacheError(
            f'latent cache shard {path} is corrupt ({type(err).__name__}: {err}); delete it and '
            + RERUN_HINT.format(folder=folder)) from err
    if expected is not None:
        wanted = {f'{i}.{name}' for i in expected for name in ('latent_moments', 'text_embedding')}
        if len(samples) != len(expected) or not wanted <= keys:
            raise LatentCacheError(
                f'latent cache shard {path} does not hold samples {expected.start}..'
                f'{expected.stop - 1} ({len(samples)} records, missing e.g. '
                f'{sorted(wanted - keys)[:2]}); delete it and ' + RERUN_HINT.format(folder=folder))
    return samples


def is_complete_shard(path: str, expected: range) -> bool:
    try:
        read_shard_samples(path, expected)
        return True
    except LatentCacheError:
        return False


def read_tensor(path: str, key: str) -> torch.Tensor:
    from safetensors import safe_open
    try:
        with safe_open(path, 'pt') as f:
            return f.get_tensor(key)
    except Exception as err:
        raise LatentCacheError(f'latent cache shard {path}: cannot read {key!r} '
                               f'({type(err).__name__}: {err}); delete the shard and '
                               + RERUN_HINT.format(folder=osp.dirname(path))) from err
