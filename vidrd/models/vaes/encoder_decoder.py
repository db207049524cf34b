"""Encoder and (temporal) decoder of the Stable-Diffusion VAE.

The encoder is SD's, applied frame by frame. The decoder is SD's plus, optionally, VidRD's
Temp-Conv after every ResNet of its up-blocks (paper Sec. 3.4, "temporal-aware decoder"):
with those layers, a clip's latents must be decoded together, passing ``num_frames``.
"""
from typing import Optional, Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .blocks import VAE_NORM_EPS, DownEncoderBlock2D, MidBlock2D, UpDecoderBlock2D, activation
from vidrd.utils.errors import InvalidValueError

DOWN_BLOCK_TYPES = ('DownEncoderBlock2D',)
UP_BLOCK_TYPES = ('UpDecoderBlock2D',)


def _check_block_types(types: Sequence[str], supported: Sequence[str], what: str,
                       expected_len: int) -> None:
    unsupported = [t for t in types if t not in supported]
    if unsupported:
        raise InvalidValueError(
            f'{what} {unsupported} not supported (supported: {list(supported)})')
    if len(types) != expected_len:
        raise InvalidValueError(f'{what} has {len(types)} entries but block_out_channels has '
                                f'{expected_len}; give one block type per level')


class Encoder(nn.Module):
    """``conv_in`` -> down-blocks -> mid-block -> ``conv_norm_out`` -> act -> ``conv_out``.

    Shapes: ``(N, C_in, H, W) -> (N, 2*latent_channels, H/2^(L-1), W/2^(L-1))`` (mean and
    log-variance stacked on channels), L = ``len(block_out_channels)``.
    """

    def __init__(self, in_channels: int = 3, latent_channels: int = 4,
                 down_block_types: Sequence[str] = ('DownEncoderBlock2D',),
                 block_out_channels: Sequence[int] = (64,), layers_per_block: int = 2,
                 norm_num_groups: int = 32, act_fn: str = 'silu',
                 mid_block_add_attention: bool = True, double_z: bool = True):
        super().__init__()
        _check_block_types(down_block_types, DOWN_BLOCK_TYPES, 'down_block_types',
                           len(block_out_channels))
        self.act = activation(act_fn)
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        channels = block_out_channels[0]
        for i, block_channels in enumerate(block_out_channels):
            self.down_blocks.append(DownEncoderBlock2D(
                channels, block_channels, layers_per_block,
                add_downsample=i < len(block_out_channels) - 1,
                groups=norm_num_groups, act_fn=act_fn))
            channels = block_channels
        self.mid_block = MidBlock2D(channels, norm_num_groups, act_fn, mid_block_add_attention)
        self.conv_norm_out = nn.GroupNorm(norm_num_groups, channels, eps=VAE_NORM_EPS)
        self.conv_out = nn.Conv2d(channels, 2 * latent_channels if double_z else latent_channels,
                                  3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for block in self.down_blocks:
            h = block(h)
        h = self.mid_block(h)
        return self.conv_out(self.act(self.conv_norm_out(h)))


class TemporalDecoder(nn.Module):
    """SD's decoder with an optional temporal layer after each up-block ResNet.

    ``conv_in`` -> mid-block (2D) -> up-blocks (ResNet [+ ``temp_convs.j``] x
    (``layers_per_block`` + 1), upsample) -> ``conv_norm_out`` -> act -> ``conv_out``.
    With ``temporal_conv=None`` it is exactly SD's decoder. Temporal layers are
    zero-initialised residual stacks, so a fresh temporal decoder decodes like the plain one.

    Shapes: ``forward(z (B*F, latent_channels, h, w), num_frames=F) -> (B*F, C_out, H, W)``;
    the rows of one video are consecutive.
    """

    def __init__(self, latent_channels: int = 4, out_channels: int = 3,
                 up_block_types: Sequence[str] = ('UpDecoderBlock2D',),
                 block_out_channels: Sequence[int] = (64,), layers_per_block: int = 2,
                 norm_num_groups: int = 32, act_fn: str = 'silu',
                 mid_block_add_attention: bool = True,
                 temporal_conv: Optional[dict] = None):
        super().__init__()
        _check_block_types(up_block_types, UP_BLOCK_TYPES, 'up_block_types',
                           len(block_out_channels))
        self.act = activation(act_fn)
        reversed_channels = list(reversed(block_out_channels))
        channels = reversed_channels[0]
        self.conv_in = nn.Conv2d(latent_channels, channels, 3, padding=1)
        self.mid_block = MidBlock2D(channels, norm_num_groups, act_fn, mid_block_add_attention)
        self.up_blocks = nn.ModuleList()
        for i, block_channels in enumerate(reversed_channels):
            self.up_blocks.append(UpDecoderBlock2D(
                channels, block_channels, layers_per_block + 1,
                add_upsample=i < len(reversed_channels) - 1,
                groups=norm_num_groups, act_fn=act_fn, temporal_conv=temporal_conv))
            channels = block_channels
        self.conv_norm_out = nn.GroupNorm(norm_num_groups, channels, eps=VAE_NORM_EPS)
        self.conv_out = nn.Conv2d(channels, out_channels, 3, padding=1)
        # recompute each up-block in the backward pass (fine-tuning at full resolution)
        self.gradient_checkpointing = False

    @property
    def has_temporal_layers(self) -> bool:
        return any(block.temp_convs is not None for block in self.up_blocks)

    def forward(self, z: torch.Tensor, num_frames: int = 1) -> torch.Tensor:
        h = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                h = checkpoint(block, h, num_frames, use_reentrant=False)
            else:
                h = block(h, num_frames)
        return self.conv_out(self.act(self.conv_norm_out(h)))
