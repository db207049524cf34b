"""Down, mid and up blocks of the video U-Net: SD's spatial layers per frame plus temporal layers.

Each block holds diffusers-named spatial layers (``resnets``, ``attentions``, ``downsamplers``,
``upsamplers``) and the temporal layers the config asks for, at three places:

- ``temporal_conv``      -> ``temp_convs.i``   after ResNet i (VidRD's Temp-Conv);
- ``temporal_attention`` -> inside every transformer block (VidRD's Temp-Attn);
- ``temporal_module``    -> ``temp_modules.i`` after spatial transformer i (e.g. an
  AnimateDiff-style motion module from a plugin); with ``temporal_module_in_resnet_blocks``
  also after ResNet i of blocks without transformers (AnimateDiff).

Temporal layers take and return (B*F, C, H, W) (or tokens for the in-block one) plus
``num_frames``; every temporal parameter name contains ``temp_``, which is how loaders tell
temporal from spatial weights.
"""
from typing import List, Optional, Tuple

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vidrd.registry import MODELS, TEMPORAL_LAYERS

from .resnet import Downsample2D, ResnetBlock2D, Upsample2D
from .transformer import Transformer2D
from vidrd.utils.errors import InvalidValueError


class VideoUNetBlock(nn.Module):
    """Shared wiring of ResNets, spatial transformers and temporal layers.

    ``in_channels_per_layer``: input channels of each ResNet; all output ``out_channels``.
    Blocks whose class sets ``with_attention = False`` ignore the attention arguments, so the
    U-Net passes the same arguments to every block type.
    """
    with_attention = True

    def __init__(self, in_channels_per_layer: List[int], out_channels: int, temb_channels: int,
                 num_heads: Optional[int] = None, cross_attention_dim: Optional[int] = None,
                 num_attentions: Optional[int] = None,
                 resnet_groups: int = 32, resnet_eps: float = 1e-5, dropout: float = 0.0,
                 norm_over_frames: bool = True, use_linear_projection: bool = True, transformer_layers: int = 1,
                 temporal_conv: Optional[dict] = None,
                 temporal_attention: Optional[dict] = None,
                 temporal_module: Optional[dict] = None,
                 temporal_module_in_resnet_blocks: bool = False):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock2D(c, out_channels, temb_channels, resnet_groups, resnet_eps, dropout,
                          norm_over_frames)
            for c in in_channels_per_layer])
        n = len(in_channels_per_layer)
        self.has_attention = self.with_attention
        self.temp_convs = self._temporal(temporal_conv, out_channels, n)
        self.temp_modules = None
        if self.has_attention:
            if num_heads is None or cross_attention_dim is None:
                raise InvalidValueError(
                    f'{type(self).__name__} needs num_heads and cross_attention_dim')
            n_attn = n if num_attentions is None else num_attentions
            self.attentions = nn.ModuleList([
                Transformer2D(out_channels, num_heads, cross_attention_dim, transformer_layers,
                              resnet_groups, use_linear_projection, temporal_attention)
                for _ in range(n_attn)])
            self.temp_modules = self._temporal(temporal_module, out_channels, n_attn)
        elif temporal_module_in_resnet_blocks:
            self.temp_modules = self._temporal(temporal_module, out_channels, n)
        self.gradient_checkpointing = False

    @staticmethod
    def _temporal(cfg: Optional[dict], channels: int, n: int) -> Optional[nn.ModuleList]:
        if cfg is None:
            return None
        return nn.ModuleList([TEMPORAL_LAYERS.build(cfg, default_args=dict(in_channels=channels))
                              for _ in range(n)])

    def _resnet(self, i: int, h: torch.Tensor, temb: torch.Tensor, num_frames: int):
        h = self.resnets[i](h, temb, num_frames)
        if self.temp_convs is not None:
            h = self.temp_convs[i](h, num_frames)
        if not self.has_attention and self.temp_modules is not None:
            h = self.temp_modules[i](h, num_frames)
        return h

    def _attention(self, i: int, h: torch.Tensor, context: torch.Tensor, num_frames: int):
        h = self.attentions[i](h, context, num_frames)
        if self.temp_modules is not None:
            h = self.temp_modules[i](h, num_frames)
        return h

    def _run(self, fn, *args):
        if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(fn, *args, use_reentrant=False)
        return fn(*args)

    def layer(self, i: int, h: torch.Tensor, temb: torch.Tensor, context: torch.Tensor,
              num_frames: int) -> torch.Tensor:
        """ResNet i (+ Temp-Conv), then transformer i (+ temporal module) if the block has one."""
        h = self._run(self._resnet, i, h, temb, num_frames)
        if self.has_attention:
            h = self._run(self._attention, i, h, context, num_frames)
        return h


@MODELS.register_module('CrossAttnDownBlock2D')
@MODELS.register_module('CrossAttnDownBlock3D')
class CrossAttnDownBlock(VideoUNetBlock):
    """``num_layers`` x (ResNet, transformer), then a downsampler."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int,
                 num_layers: int = 2, add_downsample: bool = True, downsample_padding: int = 1,
                 **kwargs):
        super().__init__([in_channels] + [out_channels] * (num_layers - 1), out_channels,
                         temb_channels, **kwargs)
        self.downsamplers = (nn.ModuleList([Downsample2D(out_channels, downsample_padding)])
                             if add_downsample else None)

    @property
    def num_skips(self) -> int:
        """Skip outputs of the block: one per layer, one for the downsampler."""
        return len(self.resnets) + (self.downsamplers is not None)

    def forward(self, h: torch.Tensor, temb: torch.Tensor, context: torch.Tensor,
                num_frames: int, max_skips: Optional[int] = None
                ) -> Tuple[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """(B*F, C_in, H, W) -> (B*F, C_out, H/2, W/2) and the skip outputs of every layer.

        ``max_skips``: stop once that many skip outputs are made (the shallow branch of step
        caching); None runs the whole block."""
        skips = []
        for i in range(len(self.resnets)):
            if max_skips is not None and len(skips) >= max_skips:
                return h, tuple(skips)
            h = self.layer(i, h, temb, context, num_frames)
            skips.append(h)
        if self.downsamplers is not None and (max_skips is None or len(skips) < max_skips):
            h = self.downsamplers[0](h)
            skips.append(h)
        return h, tuple(skips)


@MODELS.register_module('DownBlock2D')
@MODELS.register_module('DownBlock3D')
class DownBlock(CrossAttnDownBlock):
    """``num_layers`` ResNets, then a downsampler."""
    with_attention = False


@MODELS.register_module('UNetMidBlock2DCrossAttn')
@MODELS.register_module('UNetMidBlock3DCrossAttn')
class MidBlock(VideoUNetBlock):
    """ResNet, then (transformer, ResNet) pairs; the first ResNet has no transformer."""

    def __init__(self, in_channels: int, temb_channels: int, num_layers: int = 1, **kwargs):
        super().__init__([in_channels] * (num_layers + 1), in_channels, temb_channels,
                         num_attentions=num_layers, **kwargs)

    def forward(self, h: torch.Tensor, temb: torch.Tensor, context: torch.Tensor,
                num_frames: int) -> torch.Tensor:
        h = self._run(self._resnet, 0, h, temb, num_frames)
        for i in range(len(self.attentions)):
            h = self._run(self._attention, i, h, context, num_frames)
            h = self._run(self._resnet, i + 1, h, temb, num_frames)
        return h


@MODELS.register_module('CrossAttnUpBlock2D')
@MODELS.register_module('CrossAttnUpBlock3D')
class CrossAttnUpBlock(VideoUNetBlock):
    """``num_layers`` x (ResNet on [hidden, skip], transformer), then an upsampler."""

    def __init__(self, in_channels: int, prev_output_channel: int, out_channels: int,
                 temb_channels: int, num_layers: int = 3, add_upsample: bool = True, **kwargs):
        ins = []
        for i in range(num_layers):
            skip = in_channels if i == num_layers - 1 else out_channels
            ins.append((prev_output_channel if i == 0 else out_channels) + skip)
        super().__init__(ins, out_channels, temb_channels, **kwargs)
        self.upsamplers = (nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None)

    def forward(self, h: torch.Tensor, skips: Tuple[torch.Tensor, ...], temb: torch.Tensor,
                context: torch.Tensor, num_frames: int,
                upsample_size: Optional[Tuple[int, int]] = None,
                layers: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """``skips`` are consumed last-first; (B*F, C, H, W) -> (B*F, C_out, 2H, 2W).

        ``layers``: run only layers [first, last) (step caching enters or leaves a block
        between two layers); the upsampler runs when the last layer is run."""
        first, last = layers or (0, len(self.resnets))
        for i in range(first, last):
            h = torch.cat([h, skips[-1 - i]], dim=1)
            h = self.layer(i, h, temb, context, num_frames)
        if self.upsamplers is not None and last == len(self.resnets):
            h = self.upsamplers[0](h, upsample_size)
        return h


@MODELS.register_module('UpBlock2D')
@MODELS.register_module('UpBlock3D')
class UpBlock(CrossAttnUpBlock):
    """``num_layers`` ResNets on [hidden, skip] concatenations, then an upsampler."""
    with_attention = False
