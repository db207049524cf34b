"""Building blocks of the Stable-Diffusion VAE, applied per frame on (N, C, H, W), N = B*F.

Parameter names equal diffusers' current ``AutoencoderKL`` (``resnets.0.norm1``,
``attentions.0.to_q``, ``downsamplers.0.conv`` ...), so SD folders load without a converter.
The only temporal piece is the optional Temp-Conv after each ResNet of a decoder up-block
(``temp_convs.j``, names of the original release); everything else is 2D.
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vidrd.registry import TEMPORAL_LAYERS
from vidrd.utils.errors import InvalidValueError

ACTIVATIONS: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    'silu': F.silu, 'swish': F.silu, 'gelu': F.gelu, 'relu': F.relu, 'mish': F.mish}

# SD's VAE uses eps 1e-6 in every GroupNorm (diffusers hard-codes it in Encoder / Decoder)
VAE_NORM_EPS = 1e-6


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation function named ``act_fn`` in a diffusers VAE config."""
    if name not in ACTIVATIONS:
        raise InvalidValueError(
            f'act_fn {name!r} is not supported; use one of {sorted(ACTIVATIONS)}')
    return ACTIVATIONS[name]


class ResnetBlock(nn.Module):
    """GroupNorm-act-Conv twice, residual (1x1 ``conv_shortcut`` when channels change).

    Shapes: ``(N, C_in, H, W) -> (N, C_out, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int = 32,
                 act_fn: str = 'silu', dropout: float = 0.0):
        super().__init__()
        self.act = activation(act_fn)
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=VAE_NORM_EPS)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=VAE_NORM_EPS)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = (nn.Conv2d(in_channels, out_channels, 1)
                              if in_channels != out_channels else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = self.conv2(self.dropout(self.act(self.norm2(h))))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class SpatialSelfAttention(nn.Module):
    """Single-head self-attention over the H*W positions of each frame, residual.

    Names as diffusers' ``Attention`` built from the old VAE attention block: ``group_norm``,
    ``to_q``, ``to_k``, ``to_v``, ``to_out.0``. The legacy names (``query``, ``key``, ``value``,
    ``proj_attn``) are renamed by the loader (:mod:`vidrd.models.vaes.pretrained`).

    Shapes: ``(N, C, H, W) -> (N, C, H, W)``.
    """

    def __init__(self, channels: int, groups: int = 32, num_heads: int = 1):
        super().__init__()
        if channels % num_heads:
            raise InvalidValueError(f'channels {channels} not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.group_norm = nn.GroupNorm(groups, channels, eps=VAE_NORM_EPS)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        tokens = rearrange(self.group_norm(x), 'n c h w -> n (h w) c')
        q, k, v = (rearrange(proj(tokens), 'n l (heads d) -> n heads l d', heads=self.num_heads)
                   for proj in (self.to_q, self.to_k, self.to_v))
        out = F.scaled_dot_product_attention(q, k, v)  # (N, heads, HW, C/heads)
        out = self.to_out[1](self.to_out[0](rearrange(out, 'n heads l d -> n l (heads d)')))
        return x + rearrange(out, 'n (h w) c -> n c h w', h=h, w=w)


class Downsample(nn.Module):
    """Halve H and W with a stride-2 3x3 conv after padding right/bottom by one (SD's VAE)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # asymmetric padding: the original LDM encoder pads (0, 1, 0, 1), not 1 on every side
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Double H and W (nearest neighbour), then a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class DownEncoderBlock2D(nn.Module):
    """``num_layers`` ResNets, then an optional :class:`Downsample` (``downsamplers.0``)."""

    def __init__(self, in_channels: int, out_channels: int, num_layers: int,
                 add_downsample: bool, groups: int = 32, act_fn: str = 'silu'):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock(in_channels if i == 0 else out_channels, out_channels, groups, act_fn)
            for i in range(num_layers)])
        self.downsamplers = (nn.ModuleList([Downsample(out_channels)])
                             if add_downsample else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            x = resnet(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
        return x


class MidBlock2D(nn.Module):
    """ResNet, [self-attention, ResNet] x ``num_layers`` (SD: one of each). No temporal layers:
    the original temporal VAE keeps its mid block 2D."""

    def __init__(self, channels: int, groups: int = 32, act_fn: str = 'silu',
                 add_attention: bool = True, num_layers: int = 1):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock(channels, channels, groups, act_fn) for _ in range(num_layers + 1)])
        self.attentions = (nn.ModuleList([
            SpatialSelfAttention(channels, groups) for _ in range(num_layers)])
            if add_attention else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.resnets[0](x)
        for i, resnet in enumerate(self.resnets[1:]):
            if self.attentions is not None:
                x = self.attentions[i](x)
            x = resnet(x)
        return x


class UpDecoderBlock2D(nn.Module):
    """``num_layers`` ResNets, each optionally followed by a temporal layer, then an optional
    :class:`Upsample` (``upsamplers.0``).

    ``temporal_conv``: config of a ``TEMPORAL_LAYERS`` entry (``in_channels`` is filled in),
    e.g. ``dict(type='TemporalConv', num_layers=3)`` for VidRD's temporal decoder; built once per
    ResNet as ``temp_convs.j``. ``None``: the plain SD block.

    Shapes: ``forward(x (B*F, C_in, H, W), num_frames=F) -> (B*F, C_out, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_layers: int,
                 add_upsample: bool, groups: int = 32, act_fn: str = 'silu',
                 temporal_conv: Optional[dict] = None):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock(in_channels if i == 0 else out_channels, out_channels, groups, act_fn)
            for i in range(num_layers)])
        self.temp_convs = None
        if temporal_conv is not None:
            self.temp_convs = nn.ModuleList([
                TEMPORAL_LAYERS.build(dict(temporal_conv),
                                      default_args=dict(in_channels=out_channels))
                for _ in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample(out_channels)]) if add_upsample else None

    def forward(self, x: torch.Tensor, num_frames: int = 1) -> torch.Tensor:
        for j, resnet in enumerate(self.resnets):
            x = resnet(x)
            if self.temp_convs is not None:
                x = self.temp_convs[j](x, num_frames)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x
