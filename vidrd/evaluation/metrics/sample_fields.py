"""Reading videos and captions out of the data samples a test loop hands to a metric.

Data samples are ``VideoDataSample``s (mmengine's Evaluator turns them into dicts) or plain dicts
with the fields:

- ``video``: the generated video, ``(3, F, H, W)``;
- ``gt_video``: the real video, ``(3, F, H, W)`` (only for metrics computing real statistics on
  the fly; a saved ``reference_stats`` file replaces it);
- ``caption``: the prompt (CLIP similarity).

Value range: ``VideoDataSample`` documents both videos as float in ``[-1, 1]``, so that is the
default ``video_range``; pass ``video_range=(0, 1)`` for videos in ``[0, 1]``. ``uint8`` videos
are read as ``[0, 255]``. Values far outside the declared range are an error naming the field.
"""
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.logging import get_logger


def get_field(sample: Any, key: str, default=None):
    """``sample[key]`` for dicts, ``sample.key`` for data elements, else ``default``."""
    if isinstance(sample, dict):
        return sample.get(key, default)
    return getattr(sample, key, default)


def to_unit_range(video: torch.Tensor, value_range: Tuple[float, float], name: str) -> torch.Tensor:
    """A video in ``value_range`` (or ``uint8``) -> float in ``[0, 1]``, checking the range."""
    if video.dtype == torch.uint8:
        return video.float() / 255
    low, high = (float(v) for v in value_range)
    video = video.float()
    margin = 0.05 * (high - low)
    vmin, vmax = float(video.min()), float(video.max())
    if vmin < low - margin or vmax > high + margin:
        raise ValueError(
            f'data sample field {name!r} has values in [{vmin:.3g}, {vmax:.3g}], outside the '
            f'declared video_range {tuple(value_range)}; set the metric\'s video_range to the '
            'range the model outputs')
    return ((video - low) / (high - low)).clamp(0, 1)


def collect_videos(samples: Sequence[Any], key: str, value_range: Tuple[float, float],
                   hint: Optional['RangeHint'] = None) -> Optional[List[torch.Tensor]]:
    """The ``key`` videos of all samples in ``[0, 1]``, or ``None`` if no sample has one."""
    videos = [get_field(sample, key) for sample in samples]
    present = [v is not None for v in videos]
    if not any(present):
        return None
    if not all(present):
        raise KeyError(f'only {sum(present)} of {len(samples)} data samples have {key!r}')
    out = []
    for video in videos:
        if not torch.is_tensor(video):
            video = torch.as_tensor(video)
        if video.ndim != 4 or video.shape[0] != 3:
            raise ValueError(f'data sample field {key!r} must be (3, F, H, W), got '
                             f'{tuple(video.shape)}')
        out.append(video)
    if hint is not None:
        hint.check(out, value_range)
    return [to_unit_range(video, value_range, key) for video in out]


def batches_of_equal_shape(videos: List[torch.Tensor]):
    """Yield ``(indices, (B, 3, F, H, W) tensor)`` for runs of videos sharing a shape."""
    start = 0
    while start < len(videos):
        end = start + 1
        while end < len(videos) and videos[end].shape == videos[start].shape:
            end += 1
        yield list(range(start, end)), torch.stack(videos[start:end])
        start = end


def build_extractor(extractor: Union[dict, nn.Module]) -> nn.Module:
    """A feature extractor from a ``FEATURE_EXTRACTORS`` config or an already built module."""
    if isinstance(extractor, nn.Module):
        return extractor.eval()
    if isinstance(extractor, dict):
        return FEATURE_EXTRACTORS.build(extractor)
    raise TypeError(f'extractor must be a config dict or an nn.Module, got {type(extractor).__name__}')


class RangeHint:
    """Warns once when every video is non-negative although the declared range is [-1, 1]."""

    def __init__(self, metric_name: str) -> None:
        self.metric_name, self.warned = metric_name, False

    def check(self, videos: Sequence[torch.Tensor], value_range) -> None:
        if self.warned or float(value_range[0]) >= 0 or not videos:
            return
        if all(v.dtype != torch.uint8 and float(v.min()) >= 0 for v in videos):
            self.warned = True
            get_logger().warning(
                f'{self.metric_name}: no negative value in a batch of videos declared in '
                f'{tuple(value_range)}; if the model outputs [0, 1], set video_range=(0, 1)')
