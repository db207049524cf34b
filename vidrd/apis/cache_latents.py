"""Run the frozen VAE encoder and text encoder once over a dataset (``tools/cache_latents.py``).

Rank r of a torchrun-style launch (``RANK`` / ``WORLD_SIZE`` in the environment) writes shards
r, r + W, r + 2W, ...; no process group is needed. Shards that exist and are complete are
skipped, so a killed run resumes. Crop k of sample i is drawn with numpy / torch / random seeded
from (seed, i, k), so a resumed or repeated run writes the same content. Only the VAE and the
text encoder are built (not the U-Net, when both read their weights from files); they run on
the given device, ``batch_size`` clips / captions per call.
"""
import inspect
import os
import os.path as osp
import random
import typing
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from vidrd.datasets.latent_cache import (META_NAME, NEGATIVE_NAME, is_complete_shard,
                                         read_meta, shard_name, shard_range, write_json_atomic,
                                         write_shard)
from vidrd.utils.errors import InvalidValueError
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


#: config keys that make a component's weights come from a file (not from the random seed)
WEIGHT_KEYS = ('folder', 'pretrained', 'checkpoint')


def _no_posterior_message(where: str, vae_type: str) -> str:
    return (f'{where}: model.vae is {vae_type}, which has no posterior (no '
            'encode_video_moments): a latent cache stores posterior moments, so the VAE must be '
            'one with a posterior, such as AutoencoderKL / PretrainedAutoencoderKL. A '
            'deterministic autoencoder costs next to nothing to run: train from the videos '
            '(without latent_cache)')


def _built_class(obj) -> Optional[type]:
    """The class a registry entry builds: the entry itself, or a builder function's annotated
    return class (e.g. ``PretrainedAutoencoderKL``); None when that cannot be told."""
    if inspect.isclass(obj):
        return obj
    try:
        built = typing.get_type_hints(obj).get('return')
    except Exception:  # noqa: BLE001 - unresolvable annotations: decide after building
        return None
    return built if inspect.isclass(built) else None


def check_vae_has_posterior(cfg: Config) -> None:
    """Stop before anything is built when the config's VAE has no posterior moments.

    Raises:
        InvalidValueError: naming the config, the VAE type and what to do (one line in the
            tools).
    """
    from vidrd.registry import MODELS
    vae_cfg = (cfg.get('model') or {}).get('vae')
    vae_type = vae_cfg.get('type') if isinstance(vae_cfg, Mapping) else None
    if not isinstance(vae_type, str):
        return
    cls = _built_class(MODELS.get(vae_type)) if MODELS.get(vae_type) is not None else None
    if cls is not None and not hasattr(cls, 'encode_video_moments'):
        raise InvalidValueError(_no_posterior_message(cfg.filename or 'the config', vae_type))


class FrozenEncoders:
    """The frozen VAE encoder and text encoder of a model config, on one device.

    Args:
        vae: a VAE with ``encode_video_moments`` (e.g. ``AutoencoderKL``).
        text_encoder: a text encoder with ``encode(prompts)``.
        negative_prompt: the model's unconditional prompt (what a dropped caption becomes).
        device: where both run.
    """

    def __init__(self, vae: nn.Module, text_encoder: nn.Module, negative_prompt: str = '',
                 device: str = 'cpu'):
        if not hasattr(vae, 'encode_video_moments'):
            raise InvalidValueError(_no_posterior_message('the model', type(vae).__name__))
        self.vae = vae.requires_grad_(False).eval().to(device)
        self.text_encoder = text_encoder.requires_grad_(False).eval().to(device)
        self.negative_prompt = negative_prompt
        self.device = device

    @torch.no_grad()
    def encode_moments(self, videos: torch.Tensor) -> torch.Tensor:
        """Posterior moments (B, 2C, F, h, w), float32 on the CPU, of videos (B, 3, F, H, W)."""
        return self.vae.encode_video_moments(videos.to(self.device)).float().cpu()

    @torch.no_grad()
    def encode_text(self, captions: Sequence[str]) -> torch.Tensor:
        """Text embeddings (B, L, D), float32 on the CPU, as ``VidRD.encode_text`` gives them."""
        return self.text_encoder.encode(list(captions)).float().cpu()


def _from_files(component) -> bool:
    """Whether a component config names the file its weights come from."""
    return isinstance(component, dict) and any(
        isinstance(component.get(key), str) and component.get(key) for key in WEIGHT_KEYS)


def build_frozen_encoders(cfg: Config, device: str = 'cpu') -> FrozenEncoders:
    """The config's frozen VAE and text encoder, in eval mode on ``device``.

    Only those two are built when both read their weights from files (SD-2.1's folders, the
    release's files): the U-Net is not needed. A randomly initialised one (tiny test models)
    depends on the random draws of everything built before it, so then the whole model is
    built as the Runner builds it (same seed) and its two encoders are kept: the cache then
    holds what training from the videos would compute.
    """
    from mmengine.runner import set_random_seed

    from vidrd.models.builder import build_module
    from vidrd.registry import MODELS
    from vidrd.utils.precision import resolve_precision
    model_cfg = cfg.model
    missing = [key for key in ('vae', 'text_encoder') if not model_cfg.get(key)]
    if missing:
        raise InvalidValueError(
            f'{cfg.filename}: model has no {" / ".join(missing)}: caching needs a '
            'model config with a VAE and a text encoder (e.g. VidRD)')
    frozen_dtype = resolve_precision(model_cfg.get('frozen_dtype'), 'model.frozen_dtype')
    randomness = dict(cfg.get('randomness') or {})
    set_random_seed(randomness.get('seed', 0) or 0,
                    deterministic=randomness.get('deterministic', False))
    to_dict = (lambda c: c.to_dict() if hasattr(c, 'to_dict') else c)
    if _from_files(to_dict(model_cfg.vae)) and _from_files(to_dict(model_cfg.text_encoder)):
        vae, text_encoder = build_module(model_cfg.vae), build_module(model_cfg.text_encoder)
        if frozen_dtype is not None:  # as VidRD keeps them
            vae.to(frozen_dtype)
            text_encoder.to(frozen_dtype)
    else:
        get_logger().info('cache_latents: the VAE or the text encoder is randomly initialised '
                          '(no weights file): building the whole model, as training does, so '
                          'the cache holds the same encoders')
        model = MODELS.build(model_cfg)
        vae, text_encoder = model.vae, model.text_encoder
        del model
    return FrozenEncoders(vae, text_encoder, model_cfg.get('negative_prompt', '') or '', device)


class _MomentBatcher:
    """Collects (key, video) pairs and encodes them ``batch_size`` at a time (a batch holds
    videos of one shape; a new shape encodes what is pending first)."""

    def __init__(self, encoders: FrozenEncoders, batch_size: int):
        self.encoders, self.batch_size = encoders, batch_size
        self.pending: List[Tuple[object, torch.Tensor]] = []
        self.done: Dict[object, torch.Tensor] = {}

    def add(self, key, video: torch.Tensor) -> None:
        if self.pending and self.pending[0][1].shape != video.shape:
            self.flush()
        self.pending.append((key, video))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        moments = self.encoders.encode_moments(torch.stack([v for _, v in self.pending]))
        self.done.update((key, m) for (key, _), m in zip(self.pending, moments))
        self.pending = []


def cache_latents(cfg: Config, out_dir: str, shard_size: int = 64, crops_per_clip: int = 1,
                  rank: Optional[int] = None, world_size: Optional[int] = None,
                  progress: bool = True, device: str = 'cpu', batch_size: int = 8) -> dict:
    """Cache ``cfg.train_dataloader.dataset`` into ``out_dir``; returns the cache's meta.

    Args:
        cfg: a model config with ``model.vae``, ``model.text_encoder`` and a training dataset.
        out_dir: the cache folder (a complete shard in it is kept: the run resumes).
        shard_size: samples per shard file.
        crops_per_clip: pipeline draws (offsets, crops, flips) cached per sample.
        rank / world_size: this process's shards (default: ``RANK`` / ``WORLD_SIZE``).
        progress: show a progress bar.
        device: where the encoders run (``vidrd.utils.device.resolve_device``).
        batch_size: clips (and captions) per encoder call.
    """
    from vidrd.registry import DATASETS
    from vidrd.utils.errors import check_value
    check_value(shard_size >= 1 and crops_per_clip >= 1 and batch_size >= 1,
                f'shard_size, crops_per_clip and batch_size must be >= 1, got {shard_size}, '
                f'{crops_per_clip}, {batch_size}',
                ('shard_size', 'crops_per_clip', 'batch_size'))
    check_vae_has_posterior(cfg)  # before the dataset and the encoders are built
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
            raise InvalidValueError(
                f'{out_dir} holds a cache of another layout ({old}); use another '
                'out_dir or delete this one', parameter='out_dir')
    encoders = build_frozen_encoders(cfg, device)
    seed = int((cfg.get('randomness') or {}).get('seed', 0) or 0)
    if rank == 0:
        write_json_atomic(meta, osp.join(out_dir, META_NAME))
        negative = encoders.encode_text([encoders.negative_prompt])[0]
        write_shard(osp.join(out_dir, NEGATIVE_NAME), dict(negative_embedding=negative), [])
    mine = [k for k in range(meta['num_shards']) if k % world_size == rank]
    todo = [k for k in mine if not is_complete_shard(
        osp.join(out_dir, shard_name(k)), shard_range(k, shard_size, num_samples))]
    get_logger().info(f'cache_latents rank {rank}/{world_size}: {len(mine) - len(todo)} of '
                      f'{len(mine)} shards already complete in {out_dir}; encoding on {device}, '
                      f'{batch_size} clips per call')
    from tqdm import tqdm
    bar = tqdm(total=sum(len(shard_range(k, shard_size, num_samples)) for k in todo),
               disable=not progress, desc=f'caching latents (rank {rank})', unit='clip')
    for k in todo:
        indices = list(shard_range(k, shard_size, num_samples))
        batcher = _MomentBatcher(encoders, batch_size)
        records, captions = [], []
        for i in indices:
            for crop in range(crops_per_clip):
                draw = (seed * 1_000_003 + i) * 1_009 + crop
                random.seed(draw)
                np.random.seed(draw % 2 ** 32)
                torch.manual_seed(draw)
                sample = dataset[i]
                batcher.add((i, crop), sample['inputs'].float())
            data_sample = sample['data_samples']
            captions.append(data_sample.caption)
            record = dict(caption=data_sample.caption,
                          metainfo=_plain_metainfo(dict(data_sample.metainfo)))
            if 'class_label' in data_sample:
                record['class_label'] = int(data_sample.class_label)
            records.append(record)
            bar.update(1)
        batcher.flush()
        tensors = {}
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            embeddings = encoders.encode_text(captions[start:start + batch_size])
            for i, embedding in zip(chunk, embeddings):
                tensors[f'{i}.text_embedding'] = embedding
        for i in indices:
            tensors[f'{i}.latent_moments'] = torch.stack(
                [batcher.done[i, crop] for crop in range(crops_per_clip)])
        write_shard(osp.join(out_dir, shard_name(k)), tensors, records)
    bar.close()
    return meta
