"""LPIPS perceptual distance (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features
as a Perceptual Metric"), VGG-16 variant, as used by LDM's autoencoder loss.

d(x, y) = sum_l mean_{h,w} || w_l * (phi_l(x)/|phi_l(x)| - phi_l(y)/|phi_l(y)|) ||^2, over the
VGG-16 activations relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 with learned channel weights w_l.

Weights come from local files only (never downloaded):
- ``lpips_weights``: the LPIPS v0.1 linear layers, ``vgg.pth`` of the ``lpips`` package /
  github.com/richzhang/PerceptualSimilarity (keys ``lin0.model.1.weight`` ... ``lin4...``); it
  may also hold the backbone (``features.*``), then ``vgg_weights`` is not needed.
- ``vgg_weights``: torchvision's ImageNet VGG-16 (``vgg16-397923af.pth``, keys ``features.*``;
  the classifier is ignored).
"""
from typing import Dict, List, Optional

import torch
from torch import nn

from vidrd.registry import MODELS
from vidrd.utils.checkpoint import CheckpointMismatchError, load_into, load_state_dict
from vidrd.utils.errors import InvalidValueError

LPIPS_HINT = ('LPIPS needs two local files: the LPIPS v0.1 linear weights `vgg.pth` (from the '
              '`lpips` pip package, lpips/weights/v0.1/vgg.pth, or github.com/richzhang/'
              'PerceptualSimilarity) and torchvision\'s ImageNet VGG-16 `vgg16-397923af.pth` '
              '(download.pytorch.org/models/vgg16-397923af.pth). Put them on disk and name them '
              'in the config (lpips_weights=..., vgg_weights=...), or set perceptual_loss=None.')

# VGG-16 conv widths; 'M' is a 2x2 max-pool. Indices of the resulting nn.Sequential equal
# torchvision's ``vgg16().features``, so its state dict loads as is.
_VGG16 = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512)
# the LPIPS taps: after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 (exclusive end indices)
_TAPS = (4, 9, 16, 23, 30)
_TAP_CHANNELS = (64, 128, 256, 512, 512)


def _vgg16_features() -> nn.Sequential:
    layers: List[nn.Module] = []
    channels = 3
    for item in _VGG16:
        if item == 'M':
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=False)]
            channels = item
    return nn.Sequential(*layers)


class _LinearTap(nn.Module):
    """Non-negative channel weighting of one tap (``lin{l}.model.1.weight``, LPIPS names)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(0.0), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@MODELS.register_module()
class LPIPSLoss(nn.Module):
    """Frozen LPIPS(VGG-16) distance between images in [-1, 1].

    Args:
        lpips_weights: local file with the linear layers (and optionally the backbone).
        vgg_weights: local torchvision VGG-16 state dict, if the backbone is not in
            ``lpips_weights``.
        trust_pickle: allow a full pickle for these files (they are normally plain state dicts).
        reduction: 'mean' over the batch, or 'none' for (N,) distances.

    Shapes: ``forward(x (N, 3, H, W), y (N, 3, H, W))`` -> scalar (or (N,)); a 5-D video
    (B, 3, F, H, W) is compared frame by frame.
    """

    def __init__(self, lpips_weights: str, vgg_weights: Optional[str] = None,
                 trust_pickle: bool = False, reduction: str = 'mean'):
        super().__init__()
        if reduction not in ('mean', 'none'):
            raise InvalidValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        self.reduction = reduction
        # LPIPS' input normalisation from [-1, 1] (its "ScalingLayer")
        self.register_buffer('shift', torch.tensor([-.030, -.088, -.188]).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('scale', torch.tensor([.458, .448, .450]).view(1, 3, 1, 1),
                             persistent=False)
        self.features = _vgg16_features()
        self.lins = nn.ModuleList([_LinearTap(c) for c in _TAP_CHANNELS])
        self._load(lpips_weights, vgg_weights, trust_pickle)
        self.requires_grad_(False)
        self.eval()

    def _load(self, lpips_weights: str, vgg_weights: Optional[str], trust_pickle: bool) -> None:
        state = _as_state_dict(load_state_dict(lpips_weights, trust_pickle, hint=LPIPS_HINT))
        own: Dict[str, torch.Tensor] = {}
        for key, value in state.items():
            if key.startswith('lin') and '.model.' in key:  # lin{l}.model.1.weight
                own[f'lins.{key[3]}{key[4:]}'] = value
            elif key.startswith(('features.', 'net.')):
                own[_backbone_key(key)] = value
        if vgg_weights is not None:
            vgg = _as_state_dict(load_state_dict(vgg_weights, trust_pickle, hint=LPIPS_HINT))
            own.update({_backbone_key(k): v for k, v in vgg.items()
                        if k.startswith(('features.', 'net.'))})
        try:
            load_into(self, own, source=f'LPIPS ({lpips_weights}, {vgg_weights})', strict=True)
        except CheckpointMismatchError as err:
            raise CheckpointMismatchError(f'{err}\n{LPIPS_HINT}') from err

    def train(self, mode: bool = True) -> 'LPIPSLoss':
        # a fixed metric: dropout off and frozen whatever the trainer's mode
        return super().train(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape:
            raise ValueError(f'LPIPS inputs differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}')
        if x.dim() == 5:  # (B, 3, F, H, W) -> frames
            b, c, f, h, w = x.shape
            x = x.transpose(1, 2).reshape(b * f, c, h, w)
            y = y.transpose(1, 2).reshape(b * f, c, h, w)
        hx, hy = (x - self.shift) / self.scale, (y - self.shift) / self.scale
        distance = x.new_zeros(x.shape[0])
        start = 0
        for lin, end in zip(self.lins, _TAPS):
            hx, hy = self.features[start:end](hx), self.features[start:end](hy)
            start = end
            diff = (_unit_channels(hx) - _unit_channels(hy)) ** 2
            distance = distance + lin(diff).mean(dim=(1, 2, 3))
        return distance.mean() if self.reduction == 'mean' else distance


def _unit_channels(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Normalise each position's feature vector to unit length (LPIPS' normalize_tensor)."""
    return x / (torch.sqrt(torch.sum(x ** 2, dim=1, keepdim=True)) + eps)


def _backbone_key(key: str) -> str:
    # the lpips package names the VGG taps net.slice{k}.{i}; torchvision features.{i}
    if key.startswith('net.slice'):
        return 'features.' + key.split('.', 3)[2] + '.' + key.split('.', 3)[3]
    return key


def _as_state_dict(obj) -> Dict[str, torch.Tensor]:
    if isinstance(obj, dict) and 'state_dict' in obj and isinstance(obj['state_dict'], dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict):
        raise TypeError(f'expected a state dict, got {type(obj).__name__}. {LPIPS_HINT}')
    return obj
