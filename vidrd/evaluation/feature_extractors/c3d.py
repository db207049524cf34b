"""C3D fine-tuned on UCF-101 for the video Inception Score (TGAN-v2 protocol).

Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks" (ICCV 2015); the
UCF-101 fine-tuned model and the IS protocol are those of TGAN / TGAN-v2 (Saito et al.), used by
StyleGAN-V's ``c3d_ucf101.pt`` and by the text-to-video papers that report IS on UCF-101.

State-dict keys (the common PyTorch C3D layout; tests build such state dicts from this list):
``conv1, conv2, conv3a, conv3b, conv4a, conv4b, conv5a, conv5b`` (Conv3d 3x3x3, padding 1, with
bias; widths 64, 128, 256, 256, 512, 512, 512, 512) and ``fc6`` (8192 -> 4096), ``fc7`` (4096 ->
4096), ``fc8`` (4096 -> 101), each ``.weight`` and ``.bias``. TGAN-v2's chainer names
(``conv1a``, ``conv2a``, ``W``, ``b``) are accepted as aliases.

Network (TGAN-v2's chainer model): max-pool (1, 2, 2) after conv1, (2, 2, 2) after conv2, conv3b,
conv4b and conv5b, all rounding up (chainer's ``cover_all``), so 16x112x112 ends at 512x1x4x4 =
8192; fc6 and fc7 with ReLU; fc8 gives the 101 logits.

Input (TGAN-v2's ``pre`` layer): BGR, values ``128 * x + 128`` for ``x`` in ``[-1, 1]`` (i.e.
``256 * v`` for our ``v`` in ``[0, 1]``), resized to 112x112 (bilinear, corners aligned as in
chainer's ``resize_images``), minus the dataset mean. The mean is not part of the state dict:
``mean_file`` names an ``.npz`` holding ``mean`` (BGR, ``(3, 16, H, W)`` cropped at [8:120, 8:120]
as TGAN-v2 does with its ``mean2.npz``, or ``(3,)`` per channel); without it the C3D per-channel
mean (B, G, R) = (90.25, 97.66, 101.41) is used.
"""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.checkpoint import load_into, load_state_dict, require_path
from vidrd.utils.logging import get_logger

from .base import VideoFeatureExtractor, as_unit_range, resize_video_frames, resolve_weights, select_frames
from .torchscript_weights import (is_torchscript_archive, map_tensors_to_module,
                                  read_torchscript_tensors, rename_to_ours)

C3D_WEIGHTS_HINT = (
    'The IS network is the UCF-101 fine-tuned C3D of TGAN-v2: StyleGAN-V\'s TorchScript '
    'c3d_ucf101.pt (https://www.dropbox.com/s/jxpu7avzdc9n97q/c3d_ucf101.pt), or a state dict '
    'converted from TGAN-v2\'s conv3d_deepnetA_ucf.npz (github.com/pfnet-research/tgan2); '
    'download it yourself and name the local file (extractor=dict(type="C3D", weights=...)).')
#: per-channel C3D mean, B, G, R, on the 0..255 scale
C3D_CHANNEL_MEAN_BGR = (90.25164795, 97.65701294, 101.4083252)
CHAINER_ALIASES = {'conv1a': 'conv1', 'conv2a': 'conv2'}


class C3D(nn.Module):
    """``(B, 3, 16, 112, 112)`` (BGR, mean subtracted) -> logits ``(B, num_classes)``."""

    def __init__(self, num_classes: int = 101) -> None:
        super().__init__()
        widths = dict(conv1=(3, 64), conv2=(64, 128), conv3a=(128, 256), conv3b=(256, 256),
                      conv4a=(256, 512), conv4b=(512, 512), conv5a=(512, 512), conv5b=(512, 512))
        for name, (cin, cout) in widths.items():
            self.add_module(name, nn.Conv3d(cin, cout, 3, padding=1))
        self.fc6 = nn.Linear(8192, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.dropout = nn.Dropout(0.5)

    @staticmethod
    def _pool(x: torch.Tensor, kernel) -> torch.Tensor:
        return F.max_pool3d(x, kernel, kernel, ceil_mode=True)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """fc7 activations (after ReLU) ``(B, 4096)``."""
        x = self._pool(F.relu(self.conv1(x)), (1, 2, 2))
        x = self._pool(F.relu(self.conv2(x)), 2)
        x = self._pool(F.relu(self.conv3b(F.relu(self.conv3a(x)))), 2)
        x = self._pool(F.relu(self.conv4b(F.relu(self.conv4a(x)))), 2)
        x = self._pool(F.relu(self.conv5b(F.relu(self.conv5a(x)))), 2)
        x = self.dropout(x.flatten(1))
        x = self.dropout(F.relu(self.fc6(x)))
        return self.dropout(F.relu(self.fc7(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc8(self.penultimate(x))


def load_c3d_mean(mean_file: Optional[str], num_frames: int = 16, size: int = 112) -> torch.Tensor:
    """The BGR mean, broadcastable to ``(3, num_frames, size, size)``, on the 0..255 scale."""
    if mean_file is None:
        return torch.tensor(C3D_CHANNEL_MEAN_BGR, dtype=torch.float32).view(3, 1, 1, 1)
    require_path(mean_file, 'C3D mean file', 'TGAN-v2 ships it as datasets/models/mean2.npz.')
    with np.load(mean_file, allow_pickle=False) as data:
        if 'mean' not in data:
            raise KeyError(f'{mean_file!r} has no array "mean" (found {list(data.keys())})')
        mean = torch.from_numpy(np.asarray(data['mean'], dtype=np.float32))
    if mean.ndim == 1 and mean.shape[0] == 3:
        return mean.view(3, 1, 1, 1)
    if mean.ndim == 4 and mean.shape[:2] == (3, num_frames):
        if mean.shape[2] > size and mean.shape[3] > size:
            mean = mean[:, :, 8:8 + size, 8:8 + size]  # TGAN-v2's crop of its mean
        if tuple(mean.shape[2:]) == (size, size):
            return mean
    raise ValueError(f'{mean_file!r}: mean of shape {tuple(mean.shape)}; expected (3,) or '
                     f'(3, {num_frames}, >= {size}, >= {size})')


@FEATURE_EXTRACTORS.register_module(name='C3D')
class C3DFeatureExtractor(VideoFeatureExtractor):
    """UCF-101 C3D: 101-way softmax for IS, fc7 (4096-d) as features.

    Preprocessing: ``num_frames`` (16) frames; shorter side resized to 112 and centre-cropped
    (on square videos: TGAN-v2's plain resize to 112x112); RGB -> BGR; ``256 * v``; minus mean.

    Args:
        weights: ``c3d_ucf101.pt`` (TorchScript, tensors read by name/order, see
            :mod:`.torchscript_weights`) or a state dict in the layout of the module docstring.
        mean_file: ``.npz`` with the dataset mean (see module docstring); default per-channel.
        allow_random_weights: only with ``weights=None``: random weights (tests).
    """
    name = 'c3d_ucf101'
    feature_dim = 4096
    num_classes = 101

    def __init__(self, weights: Optional[str] = None, mean_file: Optional[str] = None,
                 allow_random_weights: bool = False, num_frames: int = 16, resolution: int = 112,
                 frame_sampling: str = 'first', trust_pickle: bool = False) -> None:
        super().__init__()
        self.num_frames, self.resolution, self.frame_sampling = num_frames, resolution, frame_sampling
        self.network = C3D(num_classes=101)
        self.register_buffer('mean', load_c3d_mean(mean_file, num_frames, resolution),
                             persistent=False)
        self.mean_source = mean_file or 'per-channel C3D mean'
        path = resolve_weights(weights, allow_random_weights, 'C3D (UCF-101)', C3D_WEIGHTS_HINT)
        self.random_weights = path is None
        if path is not None:
            self.load_weights(path, trust_pickle=trust_pickle)
        self.freeze()

    def load_weights(self, path: str, trust_pickle: bool = False) -> None:
        if is_torchscript_archive(path):
            tensors = read_torchscript_tensors(path, C3D_WEIGHTS_HINT)
            state_dict, how = map_tensors_to_module(tensors, self.network, path, CHAINER_ALIASES)
            get_logger().info(f'C3D: read {len(state_dict)} tensors of TorchScript {path} by {how}')
        else:
            raw = load_state_dict(path, trust_pickle=trust_pickle, hint=C3D_WEIGHTS_HINT)
            state_dict = rename_to_ours(raw.get('state_dict', raw), CHAINER_ALIASES)
        load_into(self.network, state_dict, source=path)

    def describe_preprocessing(self) -> str:
        return (f'{self.num_frames} frames ({self.frame_sampling}), {self.resolution}px, BGR '
                f'x256, minus {self.mean_source}')

    def preprocess(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[0, 1]`` -> ``(B, 3, 16, 112, 112)`` BGR, mean subtracted."""
        videos = select_frames(as_unit_range(videos), self.num_frames, self.frame_sampling)
        videos = resize_video_frames(videos, self.resolution, mode='bilinear', align_corners=True)
        return videos.flip(1) * 256 - self.mean

    @torch.no_grad()
    def logits(self, videos: torch.Tensor) -> torch.Tensor:
        return self.network(self.preprocess(videos.to(self.device)))

    @torch.no_grad()
    def extract_features(self, videos: torch.Tensor) -> torch.Tensor:
        """fc7 activations ``(B, 4096)``."""
        return self.network.penultimate(self.preprocess(videos.to(self.device)))

    @torch.no_grad()
    def class_probabilities(self, videos: torch.Tensor) -> torch.Tensor:
        """101-way softmax ``(B, 101)``."""
        return self.logits(videos).softmax(dim=-1)
