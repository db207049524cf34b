"""Inception Score of videos (Salimans et al. 2016; for video: TGAN, Saito et al. 2017).

    IS = exp( E_x KL( p(y|x) || p(y) ) ),

computed on each of ``num_splits`` consecutive, equally sized parts of the softmax outputs, as
TGAN-v2 and the improved-GAN code do; the result is the mean and the (population) standard
deviation over the parts. The paper's UCF-101 protocol uses the UCF-101 fine-tuned C3D (101
classes), 10 splits.

Config::

    dict(type='InceptionScore',
         extractor=dict(type='C3D', weights='checkpoints/evaluation/c3d_ucf101.pt'))
"""
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from torch import nn

from vidrd.registry import METRICS
from vidrd.utils.logging import get_logger

from .sample_fields import RangeHint, batches_of_equal_shape, build_extractor, collect_videos
from vidrd.utils.errors import InvalidValueError


def inception_score(probabilities, num_splits: int = 10, eps: float = 1e-20
                    ) -> Tuple[float, float]:
    """Mean and std of the IS over ``num_splits`` parts of ``probabilities`` ``(N, K)``.

    Part ``i`` holds rows ``[i * N // num_splits, (i + 1) * N // num_splits)``; ``eps`` is
    added to the probabilities (TGAN-v2) so that zeros give no ``log 0``.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    count = probabilities.shape[0]
    if probabilities.ndim != 2 or count < num_splits:
        raise ValueError(f'need (N, K) probabilities with N >= num_splits={num_splits}, got '
                         f'{probabilities.shape}')
    scores = []
    for i in range(num_splits):
        part = probabilities[i * count // num_splits:(i + 1) * count // num_splits] + eps
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(marginal))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


@METRICS.register_module()
class InceptionScore(BaseMetric):
    """IS of the generated videos; result keys ``'IS'`` and ``'IS_std'``.

    Args:
        extractor: a ``FEATURE_EXTRACTORS`` config with ``class_probabilities`` (C3D, the shapes
            classifier) or a built module.
        num_splits: parts the outputs are split into (10).
        shuffle_seed: shuffle the outputs with ``np.random.RandomState(seed)`` before splitting
            (StyleGAN-V does, with 42); ``None`` keeps dataset order (TGAN-v2).
        fake_key, video_range, device, batch_size: as in the Frechet metrics.
    """
    default_prefix = ''

    def __init__(self, extractor: Union[dict, nn.Module], num_splits: int = 10,
                 shuffle_seed: Optional[int] = None, fake_key: str = 'video',
                 video_range: Tuple[float, float] = (-1, 1), device: Optional[str] = None,
                 batch_size: int = 8, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.extractor = build_extractor(extractor)
        if not getattr(self.extractor, 'num_classes', None):
            raise InvalidValueError(
                f'InceptionScore needs a classifier; {type(self.extractor).__name__} '
                'has no class_probabilities')
        self.num_splits, self.shuffle_seed = num_splits, shuffle_seed
        self.fake_key, self.video_range = fake_key, tuple(video_range)
        self.device, self.batch_size = device, batch_size
        self._range_hint = RangeHint(type(self).__name__)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        videos = collect_videos(data_samples, self.fake_key, self.video_range, self._range_hint)
        if videos is None:
            raise KeyError(f'InceptionScore: the data samples have no {self.fake_key!r} '
                           '(the generated video); does the model\'s test step set it?')
        device = self.device or videos[0].device
        if self.extractor.device != torch.device(device):
            self.extractor.to(device)
        rows: List[Optional[np.ndarray]] = [None] * len(videos)
        for indices, batch in batches_of_equal_shape(videos):
            for start in range(0, len(indices), self.batch_size):
                probs = self.extractor.class_probabilities(batch[start:start + self.batch_size])
                for offset, row in enumerate(probs.double().cpu().numpy()):
                    rows[indices[start + offset]] = row
        self.results.extend(rows)

    def compute_metrics(self, results: List[np.ndarray]) -> dict:
        probabilities = np.stack(results)
        if self.shuffle_seed is not None:
            np.random.RandomState(self.shuffle_seed).shuffle(probabilities)
        mean, std = inception_score(probabilities, self.num_splits)
        get_logger().info(f'IS: {mean:.3f} +- {std:.3f} ({len(probabilities)} videos, '
                          f'{self.num_splits} splits, {self.extractor.identity})')
        return {'IS': mean, 'IS_std': std}
