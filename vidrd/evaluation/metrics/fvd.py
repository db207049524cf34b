"""Frechet Video Distance (Unterthiner et al., "Towards Accurate Generative Models of Video", 2018).

FVD = Frechet distance (eq. in :mod:`vidrd.evaluation.frechet_distance`) between Gaussians fitted
to Kinetics-400 I3D logits of real and generated 16-frame clips. Any per-video extractor plugs in
(the in-domain shapes classifier for the embedded demo).

Config::

    dict(type='FrechetVideoDistance',
         extractor=dict(type='I3D', weights='checkpoints/evaluation/i3d_torchscript.pt'),
         reference_stats='checkpoints/evaluation/ucf101_i3d_stats.npz')
"""
from torch import nn

from vidrd.registry import METRICS

from .frechet_metric import FrechetFeatureMetric
from vidrd.utils.errors import InvalidValueError


@METRICS.register_module()
class FrechetVideoDistance(FrechetFeatureMetric):
    """FVD from per-video features ``(B, D)``; result key ``'FVD'``. Arguments: see the base."""
    metric_name = 'FVD'

    def _check_extractor(self, extractor: nn.Module) -> None:
        if getattr(extractor, 'frame_level', False):
            raise InvalidValueError(
                f'FrechetVideoDistance needs a per-video extractor; '
                f'{type(extractor).__name__} gives per-frame features (use FrameFID)')
