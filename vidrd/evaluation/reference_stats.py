"""Real-data feature statistics (mean, covariance, count, extractor), computed once per dataset.

The real side of FVD / frame FID only depends on the dataset and the feature network, so it is
computed once (``tools/compute_reference_stats.py CONFIG --out stats.npz``) and given to the
metrics as ``reference_stats=<file>``. Files are ``.npz`` (read with ``allow_pickle=False``) or
``.safetensors``; never pickles. Each file names the extractor (its ``identity``: network,
weights, preprocessing), and a metric refuses statistics of another extractor.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional

import numpy as np

from vidrd.utils.checkpoint import require_path


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
        os.makedirs(osp.dirname(osp.abspath(path)) or '.', exist_ok=True)
        tmp = f'{path}.tmp.{os.getpid()}'
        if path.endswith('.safetensors'):
            from safetensors.numpy import save_file
            save_file({'mean': self.mean, 'cov': self.cov}, tmp,
                      metadata={'count': str(self.count), 'extractor': self.extractor})
        elif path.endswith('.npz'):
            with open(tmp, 'wb') as f:
                np.savez(f, mean=self.mean, cov=self.cov, count=np.int64(self.count),
                         extractor=np.array(self.extractor))
        else:
            raise ValueError(f'reference statistics go to a .npz or .safetensors file, not {path!r}')
        os.replace(tmp, path)

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
            raise ValueError(
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
            raise ValueError(f'reference statistics need at least 2 feature vectors, got {self.count}')
        mean_centred = self.sum / self.count
        cov = (self.sum_outer - self.count * np.outer(mean_centred, mean_centred)) / (self.count - 1)
        return ReferenceStats(self.shift + mean_centred, cov, self.count, extractor)
