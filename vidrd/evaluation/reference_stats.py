"""Real-data feature statistics (mean, covariance, count, extractor), computed once per dataset.

The real side of FVD / frame FID only depends on the dataset and the feature network, so it is
computed once (``tools/compute_reference_stats.py CONFIG --out stats.npz``) and given to the
metrics as ``reference_stats=<file>``. Files are ``.npz`` (read with ``allow_pickle=False``) or
``.safetensors``; never pickles. Each file names the extractor (its ``identity``: network,
weights, preprocessing), and a metric refuses statistics of another extractor.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from vidrd.utils.checkpoint import require_path
from vidrd.utils.errors import InvalidValueError
from vidrd.utils.io import atomic_write


@dataclass
class ReferenceStats:
    """Gaussian statistics of real features: ``mean (D,)``, ``cov (D, D)`` (float64)."""
    mean: np.ndarray
    cov: np.ndarray
    count: int
    extractor: str

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float64)
        self.cov = np.asarray(self.cov, dtype=np.float64)
        dim = self.mean.shape[0]
        if self.mean.ndim != 1 or self.cov.shape != (dim, dim):
            raise ValueError(f'reference statistics: mean {self.mean.shape} and covariance '
                             f'{self.cov.shape} do not fit')

    @classmethod
    def from_features(cls, features, extractor: str) -> 'ReferenceStats':
        from .frechet_distance import feature_statistics
        features = np.asarray(features)
        mean, cov = feature_statistics(features)
        return cls(mean, cov, int(features.shape[0]), extractor)

    def save(self, path: str) -> None:
        """Write ``.npz`` or ``.safetensors`` (atomically)."""
        if not path.endswith(('.safetensors', '.npz')):
            raise InvalidValueError(
                f'reference statistics go to a .npz or .safetensors file, not {path!r}')
        with atomic_write(path) as f:
            if path.endswith('.safetensors'):
                from safetensors.numpy import save_file
                save_file({'mean': self.mean, 'cov': self.cov}, f.name,
                          metadata={'count': str(self.count), 'extractor': self.extractor})
            else:
                np.savez(f, mean=self.mean, cov=self.cov, count=np.int64(self.count),
                         extractor=np.array(self.extractor))

    @classmethod
    def load(cls, path: str) -> 'ReferenceStats':
        require_path(path, 'reference statistics file',
                     'Compute it with `python tools/compute_reference_stats.py CONFIG --out '
                     f'{path}` on the real dataset.')
        if path.endswith('.safetensors'):
            from safetensors import safe_open
            with safe_open(path, framework='numpy') as f:
                meta = f.metadata() or {}
                mean, cov = f.get_tensor('mean'), f.get_tensor('cov')
            if 'extractor' not in meta or 'count' not in meta:
                raise KeyError(f'{path!r} lacks the "count" / "extractor" metadata of vidrd '
                               'reference statistics')
            return cls(mean, cov, int(meta['count']), meta['extractor'])
        with np.load(path, allow_pickle=False) as data:
            missing = {'mean', 'cov', 'count', 'extractor'} - set(data.keys())
            if missing:
                raise KeyError(f'{path!r} is not a vidrd reference statistics file: missing '
                               f'{sorted(missing)} (found {sorted(data.keys())})')
            return cls(data['mean'], data['cov'], int(data['count']), str(data['extractor']))

    def check_extractor(self, identity: str, source: str = 'reference statistics') -> None:
        if identity != self.extractor:
            raise InvalidValueError(
                f'{source} were computed with extractor "{self.extractor}", but the metric uses '
                f'"{identity}"; recompute them with tools/compute_reference_stats.py')


class RunningFeatureStatistics:
    """Streaming mean / unbiased covariance of feature rows, in float64.

    Sums are taken around the first batch's mean so that large feature offsets do not cancel
    catastrophically in ``E[xx^T] - E[x]E[x]^T``.
    """

    def __init__(self) -> None:
        self.count = 0
        self.shift: Optional[np.ndarray] = None
        self.sum = self.sum_outer = None

    def update(self, features) -> None:
        features = np.asarray(features, dtype=np.float64)
        features = features.reshape(-1, features.shape[-1])
        if self.shift is None:
            self.shift = features.mean(axis=0)
            dim = features.shape[1]
            self.sum, self.sum_outer = np.zeros(dim), np.zeros((dim, dim))
        centred = features - self.shift
        self.count += centred.shape[0]
        self.sum += centred.sum(axis=0)
        self.sum_outer += centred.T @ centred

    def finalize(self, extractor: str) -> ReferenceStats:
        if self.count < 2:
            raise InvalidValueError(
                f'reference statistics need at least 2 feature vectors, got {self.count}')
        mean_centred = self.sum / self.count
        cov = (self.sum_outer - self.count * np.outer(mean_centred, mean_centred)) / (self.count - 1)
        return ReferenceStats(self.shift + mean_centred, cov, self.count, extractor)


FRECHET_METRICS = ('FrechetVideoDistance', 'FrameFID')


def frechet_metric_configs(cfg) -> list:
    """The FVD / frame-FID metric configs of ``cfg.test_evaluator`` (a dict, list or Evaluator cfg)."""
    evaluator = cfg.get('test_evaluator') or []
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    if isinstance(evaluator, dict):
        evaluator = [evaluator]
    return [m for m in evaluator if isinstance(m, dict)
            and str(m.get('type', '')).split('.')[-1] in FRECHET_METRICS]


def _video_of(item, video_key: Optional[str]):
    """The real video of a dataset item: ``item[video_key]``, else ``inputs``, else the data
    sample's ``gt_video``."""
    from vidrd.evaluation.metrics.sample_fields import get_field
    if video_key is not None:
        return get_field(item, video_key)
    video = get_field(item, 'inputs')
    if video is None and get_field(item, 'data_samples') is not None:
        video = get_field(get_field(item, 'data_samples'), 'gt_video')
    return video


def compute_reference_stats(cfg, out: Optional[str] = None, extractor=None,
                            dataloader: Optional[str] = None, num_videos: Optional[int] = None,
                            batch_size: int = 8, num_workers: int = 0,
                            video_key: Optional[str] = None, video_range=(-1, 1),
                            device: str = 'cpu', progress: bool = True) -> ReferenceStats:
    """Real-data statistics of the dataset of ``cfg[dataloader]`` for a Frechet metric.

    Args:
        cfg: an mmengine ``Config`` (or a path to one).
        out: ``.npz`` / ``.safetensors`` to write; default: the ``reference_stats`` path of the
            first FVD / frame-FID metric of ``cfg.test_evaluator``.
        extractor: a ``FEATURE_EXTRACTORS`` config or module; default: that metric's extractor.
        dataloader: the config entry whose ``dataset`` holds the real videos; default
            ``reference_dataloader`` when the config has one (the evaluation protocol's real
            clips, e.g. ``configs/_base_/evaluation/ucf101_zero_shot.py``), else
            ``train_dataloader``.
        num_videos: use this many videos spread evenly over the dataset (default: all).
        video_key: the item field holding the video (default ``inputs``, then the data sample's
            ``gt_video``); videos are ``(3, F, H, W)`` in ``video_range`` or uint8.
    """
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from torch.utils.data import DataLoader, Subset
    from tqdm import tqdm

    from vidrd.registry import DATASETS
    from vidrd.utils.errors import check_value
    from vidrd.utils.logging import get_logger
    from .metrics.sample_fields import build_extractor, to_unit_range

    check_value(num_videos is None or num_videos >= 2,
                f'num_videos must be >= 2 (a covariance needs two videos), got {num_videos}',
                'num_videos')
    check_value(batch_size >= 1, f'batch_size must be >= 1, got {batch_size}', 'batch_size')
    cfg = Config.fromfile(cfg) if isinstance(cfg, str) else cfg
    init_default_scope(cfg.get('default_scope', 'vidrd'))
    metrics = frechet_metric_configs(cfg)
    if extractor is None:
        if not metrics:
            raise InvalidValueError('no extractor given and the config\'s test_evaluator has no '
                                    f'{" / ".join(FRECHET_METRICS)} metric to take one from')
        extractor = metrics[0]['extractor']
    if out is None:
        out = metrics[0].get('reference_stats') if metrics else None
        if out is None:
            raise InvalidValueError("say where to write the statistics (out='stats.npz')",
                                    parameter='out')
    extractor = build_extractor(extractor).to(device)
    if dataloader is None:
        dataloader = 'reference_dataloader' if 'reference_dataloader' in cfg else \
            'train_dataloader'
    if dataloader not in cfg or 'dataset' not in cfg[dataloader]:
        raise KeyError(f'the config has no {dataloader}.dataset (choose --dataloader)')
    dataset = DATASETS.build(cfg[dataloader]['dataset'])
    if num_videos is not None and num_videos < len(dataset):
        dataset = Subset(dataset, np.linspace(0, len(dataset) - 1, num_videos).round().astype(int).tolist())
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                        collate_fn=pseudo_collate, shuffle=False)
    running = RunningFeatureStatistics()
    for batch in tqdm(loader, desc=f'reference statistics ({extractor.name})', disable=not progress):
        items = [dict(zip(batch, values)) for values in zip(*batch.values())]
        videos = []
        for item in items:
            video = _video_of(item, video_key)
            if video is None or not torch.is_tensor(video) or video.ndim != 4 or video.shape[0] != 3:
                raise InvalidValueError(f'dataset item has no (3, F, H, W) video under '
                                        f'{video_key or "inputs / data_samples.gt_video"} (keys: '
                                        f'{sorted(item)}); choose video_key', parameter='video_key')
            videos.append(to_unit_range(video, video_range, video_key or 'inputs'))
        with torch.no_grad():
            features = extractor.extract_features(torch.stack(videos).to(device))
        running.update(features.double().cpu().numpy())
    stats = running.finalize(extractor.identity)
    stats.save(out)
    get_logger().info(f'reference statistics of {stats.count} features ({extractor.identity}) '
                      f'saved to {out}')
    return stats
