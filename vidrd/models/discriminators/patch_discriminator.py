"""PatchGAN discriminators (Isola et al. 2017) for the VAE decoder's adversarial loss.

``PatchDiscriminator2D`` judges each frame on its own (LDM's ``NLayerDiscriminator``);
``PatchDiscriminator3D`` judges space-time patches, so it can also penalise flicker between
frames, which is what the temporal decoder is fine-tuned to remove. Both take videos
(B, C, F, H, W) and return patch logits.
"""
import math
from typing import List

import torch
from torch import nn

from vidrd.registry import MODELS
from vidrd.utils.errors import InvalidValueError

NORMS = ('batch', 'group', 'none')


def _norm(kind: str, channels: int, dims: int) -> nn.Module:
    if kind == 'batch':
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm3d(channels)
    if kind == 'group':
        return nn.GroupNorm(math.gcd(32, channels), channels)
    if kind == 'none':
        return nn.Identity()
    raise InvalidValueError(f'norm {kind!r} not supported; use one of {NORMS}')


class _PatchDiscriminator(nn.Module):
    """conv(stride 2) + LeakyReLU, ``num_layers`` x [conv(stride 2) + norm + LeakyReLU],
    conv(stride 1) + norm + LeakyReLU, conv -> 1 logit per patch. Channels double per layer
    (capped at 8x ``base_channels``). Weights ~ N(0, 0.02), norm scales ~ N(1, 0.02) (pix2pix).
    """
    dims = 2

    def __init__(self, in_channels: int = 3, base_channels: int = 64, num_layers: int = 3,
                 norm: str = 'batch'):
        super().__init__()
        if num_layers < 1:
            raise InvalidValueError(f'num_layers must be >= 1, got {num_layers}')
        conv = nn.Conv2d if self.dims == 2 else nn.Conv3d
        layers: List[nn.Module] = [
            conv(in_channels, base_channels, self._kernel(), self._stride(True), self._pad()),
            nn.LeakyReLU(0.2)]
        channels = base_channels
        for i in range(1, num_layers + 1):
            out = base_channels * min(2 ** i, 8)
            downsample = i < num_layers
            layers += [conv(channels, out, self._kernel(), self._stride(downsample), self._pad(),
                            bias=norm != 'batch'),
                       _norm(norm, out, self.dims), nn.LeakyReLU(0.2)]
            channels = out
        layers.append(conv(channels, 1, self._kernel(), self._stride(False), self._pad()))
        self.main = nn.Sequential(*layers)
        self.reset_parameters()

    def _kernel(self):
        return 4

    def _stride(self, downsample: bool):
        return 2 if downsample else 1

    def _pad(self):
        return 1

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Conv3d)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)):
                nn.init.normal_(module.weight, 1.0, 0.02)
                nn.init.zeros_(module.bias)


@MODELS.register_module()
class PatchDiscriminator2D(_PatchDiscriminator):
    """Per-frame PatchGAN. ``forward(video (B, C, F, H, W)) -> (B*F, 1, h, w)`` logits.

    With ``num_layers`` = n the input is downsampled n times, then two stride-1 4x4 convs
    (padding 1) shrink it by one pixel each: frames need H, W >= 3 * 2^n (n=3: 24; LDM uses
    n=3 at 256).
    """

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() == 5:
            b, c, f, h, w = video.shape
            video = video.transpose(1, 2).reshape(b * f, c, h, w)
        return self.main(video)


@MODELS.register_module()
class PatchDiscriminator3D(_PatchDiscriminator):
    """Space-time PatchGAN: Conv3d with kernel (3, 4, 4), stride (1, 2, 2) / 1, padding
    (1, 1, 1), so the frame count is kept and each logit sees a few neighbouring frames.
    ``forward(video (B, C, F, H, W)) -> (B, 1, F, h, w)`` logits.
    """
    dims = 3

    def _kernel(self):
        return (3, 4, 4)

    def _stride(self, downsample: bool):
        return (1, 2, 2) if downsample else 1

    def _pad(self):
        return (1, 1, 1)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5:
            raise ValueError(f'PatchDiscriminator3D expects (B, C, F, H, W), got '
                             f'{tuple(video.shape)}')
        return self.main(video)
