"""What every evaluation network shares: input convention, frame selection, resizing, weights.

Input convention of every extractor: ``videos`` of shape ``(B, 3, F, H, W)``, RGB, float in
``[0, 1]`` (``uint8`` in ``[0, 255]`` is accepted and divided by 255). Each extractor turns this
into its network's own input (frame count, size, value range, channel order) in ``preprocess``.

Extractors provide some of:
- ``extract_features(videos)``: ``(B, D)`` per video, or ``(B, F, D)`` per frame when
  ``frame_level`` is true (frame FID);
- ``class_probabilities(videos)``: ``(B, K)`` softmax outputs (Inception Score).

``identity`` names the network, its weights and its preprocessing; saved real-data statistics
carry it, so statistics of one feature space are never compared with another's.
"""
import os.path as osp
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vidrd.utils.checkpoint import WeightsNotFoundError, require_path
from vidrd.utils.logging import get_logger
from vidrd.utils.errors import InvalidValueError


def resolve_weights(weights: Optional[str], allow_random_weights: bool, what: str,
                    hint: str) -> Optional[str]:
    """The weights path to load, or ``None`` for random weights when explicitly allowed.

    Args:
        weights: a local file or folder; never downloaded.
        allow_random_weights: with ``weights=None`` keep the random init (tests, timing only).
        what: the network, for messages (``'I3D (Kinetics-400)'``).
        hint: where the standard copy of the weights comes from.
    """
    if weights is None:
        if not allow_random_weights:
            raise WeightsNotFoundError(
                f'{what}: no weights file given (weights=None). {hint} Random weights are used '
                'only with an explicit weights=None, allow_random_weights=True (tests).')
        get_logger().warning(f'{what}: RANDOM weights (allow_random_weights=True); the numbers '
                             'it gives are not comparable with any published ones')
        return None
    return require_path(osp.expanduser(str(weights)), f'{what} weights', hint)


def as_unit_range(videos: torch.Tensor) -> torch.Tensor:
    """Check ``videos`` is ``(B, 3, F, H, W)`` and return it as float in ``[0, 1]``."""
    if not torch.is_tensor(videos) or videos.ndim != 5 or videos.shape[1] != 3:
        shape = tuple(videos.shape) if torch.is_tensor(videos) else type(videos).__name__
        raise ValueError(
            f'expected videos of shape (B, 3, F, H, W) (RGB, float in [0, 1]), got {shape}; '
            'a (B, F, 3, H, W) tensor needs .transpose(1, 2)')
    if videos.dtype == torch.uint8:
        return videos.float() / 255
    return videos.float()


def select_frames(videos: torch.Tensor, num_frames: int, mode: str = 'first') -> torch.Tensor:
    """``(B, C, F, H, W)`` -> ``(B, C, num_frames, H, W)``.

    ``'first'``: the first ``num_frames`` frames (the FVD / IS protocols score 16-frame clips
    from the start); fewer frames is an error. ``'uniform'``: ``num_frames`` indices spread
    evenly over the video, repeating frames when it is shorter.
    """
    frames = videos.shape[2]
    if mode == 'first':
        if frames < num_frames:
            raise InvalidValueError(
                f'the network needs {num_frames} frames per video, got {frames}; generate '
                f'longer clips or set frame_sampling="uniform" (repeats frames)')
        return videos[:, :, :num_frames]
    if mode == 'uniform':
        index = torch.linspace(0, frames - 1, num_frames, device=videos.device).round().long()
        return videos.index_select(2, index)
    raise InvalidValueError(f'frame_sampling must be "first" or "uniform", got {mode!r}')


def resize_shorter_side_center_crop(frames: torch.Tensor, size: int, mode: str = 'bilinear',
                                    align_corners: Optional[bool] = False,
                                    antialias: bool = False) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` so the shorter side is ``size``, then crop the centre square."""
    height, width = frames.shape[-2:]
    scale = size / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    if (new_h, new_w) != (height, width):
        kwargs = dict(size=(new_h, new_w), mode=mode)
        if mode in ('bilinear', 'bicubic'):
            kwargs.update(align_corners=align_corners, antialias=antialias)
        frames = F.interpolate(frames, **kwargs)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return frames[..., top:top + size, left:left + size]


def resize_video_frames(videos: torch.Tensor, size: int, **kwargs) -> torch.Tensor:
    """Apply :func:`resize_shorter_side_center_crop` to every frame of ``(B, C, F, H, W)``."""
    batch, channels, frames = videos.shape[:3]
    flat = videos.transpose(1, 2).reshape(batch * frames, channels, *videos.shape[-2:])
    flat = resize_shorter_side_center_crop(flat, size, **kwargs)
    return flat.reshape(batch, frames, channels, size, size).transpose(1, 2)


class VideoFeatureExtractor(nn.Module):
    """Base of the evaluation networks: frozen, eval mode, inputs as described above."""

    #: short name of the network (``'i3d_kinetics400'``)
    name: str = 'extractor'
    #: ``extract_features`` returns ``(B, F, D)`` (one row per frame) instead of ``(B, D)``
    frame_level: bool = False
    feature_dim: Optional[int] = None
    num_classes: Optional[int] = None

    def __init__(self) -> None:
        super().__init__()
        self.random_weights = False

    @property
    def identity(self) -> str:
        """Network + weights + preprocessing; statistics are only comparable when it is equal."""
        weights = 'random weights' if self.random_weights else 'pretrained'
        return f'{self.name} ({weights}; {self.describe_preprocessing()})'

    def describe_preprocessing(self) -> str:
        return ''

    def freeze(self) -> 'VideoFeatureExtractor':
        self.eval()
        for param in self.parameters():
            param.requires_grad_(False)
        return self

    def train(self, mode: bool = True) -> 'VideoFeatureExtractor':
        # an evaluation network never runs in training mode (batch norm, dropout)
        return super().train(False)

    @property
    def device(self) -> torch.device:
        for tensor in list(self.parameters()) + list(self.buffers()):
            return tensor.device
        return torch.device('cpu')

    def extract_features(self, videos: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f'{type(self).__name__} gives no features for a Frechet distance')

    def class_probabilities(self, videos: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            f'{type(self).__name__} has no classifier head for an Inception Score')


def chunked(items: Sequence, size: int):
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
