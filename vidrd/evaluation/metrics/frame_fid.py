"""Frame FID: the Frechet Inception Distance (Heusel et al. 2017) over all frames of the videos.

Every frame (or every ``frame_stride``-th) of every video is one sample of pytorch-fid's
InceptionV3 pool3 features (2048-d); real statistics likewise from real frames.

Config::

    dict(type='FrameFID',
         extractor=dict(type='InceptionV3',
                        weights='checkpoints/evaluation/pt_inception-2015-12-05-6726825d.pth'),
         reference_stats='checkpoints/evaluation/ucf101_inception_stats.npz')
"""
from torch import nn

from vidrd.registry import METRICS

from .frechet_metric import FrechetFeatureMetric
from vidrd.utils.errors import InvalidValueError


@METRICS.register_module()
class FrameFID(FrechetFeatureMetric):
    """FID over frames, from per-frame features ``(B, F, D)``; result key ``'FID'``."""
    metric_name = 'FID'

    def _check_extractor(self, extractor: nn.Module) -> None:
        if not getattr(extractor, 'frame_level', False):
            raise InvalidValueError(f'FrameFID needs a per-frame extractor (frame_level=True), got '
                                    f'{type(extractor).__name__}')
