"""Shared machinery of the Frechet metrics (FVD, frame FID): features in, one distance out.

``process`` turns each data sample's videos into features right away and keeps only those
(CPU numpy float32), one result entry per sample, so mmengine's ``collect_results`` gathers them
across processes and drops the sampler's padding. ``compute_metrics`` (rank 0) fits Gaussians
and returns the Frechet distance (:func:`vidrd.evaluation.frechet_distance.frechet_distance`).

Real side: a saved :class:`ReferenceStats` file (``reference_stats=``), or the ``gt_video`` of
the data samples; ``save_reference_stats=`` writes the latter for later runs.
"""
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from torch import nn

from vidrd.utils.checkpoint import require_path
from vidrd.utils.logging import get_logger

from ..frechet_distance import feature_statistics, frechet_distance
from ..reference_stats import ReferenceStats
from .sample_fields import RangeHint, batches_of_equal_shape, build_extractor, collect_videos


class FrechetFeatureMetric(BaseMetric):
    """Base of FVD and frame FID.

    Args:
        extractor: a ``FEATURE_EXTRACTORS`` config (``dict(type='I3D', weights=...)``) or module.
        reference_stats: ``.npz`` / ``.safetensors`` of real statistics computed with the same
            extractor; when given, ``gt_video`` is not needed (nor read).
        save_reference_stats: write the statistics of the ``gt_video`` features here.
        fake_key, real_key: data-sample fields of the generated and real videos.
        video_range: value range of those videos (``VideoDataSample``: ``(-1, 1)``).
        device: where the extractor runs; default: where the videos are.
        batch_size: videos per extractor call.
    """
    default_prefix = ''
    metric_name = 'FD'

    def __init__(self, extractor: Union[dict, nn.Module], reference_stats: Optional[str] = None,
                 save_reference_stats: Optional[str] = None, fake_key: str = 'video',
                 real_key: str = 'gt_video', video_range: Tuple[float, float] = (-1, 1),
                 device: Optional[str] = None, batch_size: int = 8, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.extractor = build_extractor(extractor)
        self._check_extractor(self.extractor)
        if reference_stats is not None:
            require_path(reference_stats, 'reference statistics file',
                         'Compute it with `python tools/compute_reference_stats.py CONFIG --out '
                         f'{reference_stats}` on the real dataset.')
        self.reference_stats, self.save_reference_stats = reference_stats, save_reference_stats
        self.fake_key, self.real_key = fake_key, real_key
        self.video_range = tuple(video_range)
        self.device, self.batch_size = device, batch_size
        self._range_hint = RangeHint(type(self).__name__)

    def _check_extractor(self, extractor: nn.Module) -> None:
        """Subclasses reject extractors of the wrong kind (per-frame vs per-video)."""

    @property
    def needs_real_videos(self) -> bool:
        return self.reference_stats is None

    def _features(self, videos: List[torch.Tensor]) -> List[np.ndarray]:
        """Per-video features, each ``(D,)`` or ``(F, D)`` float32 on the CPU."""
        device = self.device or videos[0].device
        if self.extractor.device != torch.device(device):
            self.extractor.to(device)
        out: List[Optional[np.ndarray]] = [None] * len(videos)
        for indices, batch in batches_of_equal_shape(videos):
            for start in range(0, len(indices), self.batch_size):
                chunk = batch[start:start + self.batch_size]
                features = self.extractor.extract_features(chunk).float().cpu().numpy()
                for offset, row in enumerate(features):
                    out[indices[start + offset]] = row
        return out

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        fake = collect_videos(data_samples, self.fake_key, self.video_range, self._range_hint)
        if fake is None:
            raise KeyError(f'{type(self).__name__}: the data samples have no {self.fake_key!r} '
                           '(the generated video); does the model\'s test step set it?')
        fake_features = self._features(fake)
        real_features: List[Optional[np.ndarray]] = [None] * len(fake)
        if self.needs_real_videos or self.save_reference_stats:
            real = collect_videos(data_samples, self.real_key, self.video_range, self._range_hint)
            if real is None:
                raise KeyError(
                    f'{type(self).__name__}: no reference_stats file and the data samples have no '
                    f'{self.real_key!r} (the real video). Compute real statistics once with '
                    'tools/compute_reference_stats.py and pass reference_stats=<file>, or pack '
                    'real videos into the data samples (PackVideoInputs(with_gt_video=True)).')
            real_features = self._features(real)
        for fake_row, real_row in zip(fake_features, real_features):
            self.results.append(dict(fake=fake_row, real=real_row))

    def _real_stats(self, results: List[dict]) -> ReferenceStats:
        identity = self.extractor.identity
        rows = [r['real'] for r in results if r['real'] is not None]
        computed = None
        if rows:
            dim = rows[0].shape[-1]
            computed = ReferenceStats.from_features(
                np.concatenate([r.reshape(-1, dim) for r in rows]), identity)
            if self.save_reference_stats:
                computed.save(self.save_reference_stats)
                get_logger().info(f'{type(self).__name__}: saved real statistics of '
                                  f'{computed.count} features to {self.save_reference_stats}')
        if self.reference_stats is not None:
            stats = ReferenceStats.load(self.reference_stats)
            stats.check_extractor(identity, self.reference_stats)
            return stats
        return computed

    def compute_metrics(self, results: List[dict]) -> dict:
        dim = results[0]['fake'].shape[-1]
        fake = np.concatenate([r['fake'].reshape(-1, dim) for r in results])
        real = self._real_stats(results)
        mean, cov = feature_statistics(fake)
        distance = frechet_distance(mean, cov, real.mean, real.cov)
        get_logger().info(f'{self.metric_name}: {distance:.4f} ({fake.shape[0]} generated vs '
                          f'{real.count} real features, {self.extractor.identity})')
        return {self.metric_name: distance}
