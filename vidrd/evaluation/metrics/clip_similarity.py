"""CLIP similarity (CLIPSIM; Wu et al. 2021): how well the frames match the prompt.

    CLIPSIM = mean over videos of mean over frames of cos(E_img(frame), E_txt(caption)),

with CLIP's L2-normalised image and text embeddings (raw cosine, not the x100 or clipped CLIP
score). Each result entry is one video's score, so gathering across processes is exact.

Config::

    dict(type='CLIPSimilarity', extractor=dict(type='CLIP', weights='checkpoints/clip-vit-base-patch32'))
"""
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from torch import nn

from vidrd.registry import METRICS
from vidrd.utils.logging import get_logger

from .sample_fields import RangeHint, batches_of_equal_shape, build_extractor, collect_videos, get_field
from vidrd.utils.errors import InvalidValueError


@METRICS.register_module()
class CLIPSimilarity(BaseMetric):
    """Mean frame-prompt CLIP cosine similarity; result key ``'CLIPSIM'``.

    Args:
        extractor: ``dict(type='CLIP', weights=<local folder>)`` or a built ``CLIPExtractor``.
        fake_key, caption_key: data-sample fields of the generated video and its prompt.
        video_range, device, batch_size: as in the other metrics.
    """
    default_prefix = ''

    def __init__(self, extractor: Union[dict, nn.Module], fake_key: str = 'video',
                 caption_key: str = 'caption', video_range: Tuple[float, float] = (-1, 1),
                 device: Optional[str] = None, batch_size: int = 8, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.extractor = build_extractor(extractor)
        for method in ('encode_video', 'encode_text'):
            if not hasattr(self.extractor, method):
                raise InvalidValueError(f'CLIPSimilarity needs an extractor with {method}; '
                                        f'{type(self.extractor).__name__} has none')
        self.fake_key, self.caption_key = fake_key, caption_key
        self.video_range, self.device, self.batch_size = tuple(video_range), device, batch_size
        self._range_hint = RangeHint(type(self).__name__)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        videos = collect_videos(data_samples, self.fake_key, self.video_range, self._range_hint)
        captions = [get_field(sample, self.caption_key) for sample in data_samples]
        if videos is None or any(c is None for c in captions):
            raise KeyError(f'CLIPSimilarity needs {self.fake_key!r} and {self.caption_key!r} in '
                           'every data sample')
        device = self.device or videos[0].device
        if self.extractor.device != torch.device(device):
            self.extractor.to(device)
        scores: List[Optional[float]] = [None] * len(videos)
        for indices, batch in batches_of_equal_shape(videos):
            for start in range(0, len(indices), self.batch_size):
                index = indices[start:start + self.batch_size]
                frames = self.extractor.encode_video(batch[start:start + self.batch_size])
                text = self.extractor.encode_text([str(captions[i]) for i in index])
                cosine = torch.einsum('bfd,bd->bf', frames, text).mean(dim=1)
                for i, value in zip(index, cosine.tolist()):
                    scores[i] = value
        self.results.extend(scores)

    def compute_metrics(self, results: List[float]) -> dict:
        value = float(np.mean(results))
        get_logger().info(f'CLIPSIM: {value:.4f} ({len(results)} videos, {self.extractor.identity})')
        return {'CLIPSIM': value}
