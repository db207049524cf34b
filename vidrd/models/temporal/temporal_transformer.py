"""A transformer across frames at every spatial position: ModelScope T2V's temporal attention
(diffusers' ``TransformerTemporalModel``) and its ``transformer_in``."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from vidrd.registry import TEMPORAL_LAYERS

from ..unets.transformer import FeedForward
from .temporal_attention import FrameAttention
from vidrd.utils.errors import InvalidValueError


class TemporalTransformerBlock(nn.Module):
    """Two self-attentions across frames and a GEGLU feed-forward, pre-norm residuals
    (``norm1 attn1 norm2 attn2 norm3 ff``, diffusers' ``BasicTransformerBlock`` with
    ``double_self_attention``). (N, F, C) -> (N, F, C)."""

    def __init__(self, dim: int, num_heads: int, head_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = FrameAttention(dim, num_heads, head_dim, zero_init_out=False)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = FrameAttention(dim, num_heads, head_dim, zero_init_out=False)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x)) + x
        return self.ff(self.norm3(x)) + x


@TEMPORAL_LAYERS.register_module()
class TemporalTransformer(nn.Module):
    """GroupNorm over the clip, ``proj_in``, transformer blocks across the F frames at each
    spatial position, ``proj_out``; residual::

        h = proj_in(GroupNorm(x as (B, C, F, H, W)))     tokens (B*H*W, F, inner)
        h = blocks(h)
        out = x + proj_out(h)

    ModelScope T2V places one after every spatial transformer (``temp_attentions.i`` in
    diffusers, ``temp_modules.i`` here) with heads of ``head_dim`` channels, and one after
    ``conv_in`` (``transformer_in``, 8 heads of ``head_dim``: its inner width differs from C).
    Nothing is zero-initialised: it is loaded from a trained model.

    Args:
        in_channels: C (given by the U-Net).
        head_dim: channels per head.
        num_heads: heads; default ``in_channels // head_dim``.
        num_layers: transformer blocks.
        norm_groups: groups of the input GroupNorm.

    Shapes: ``forward(x (B*F, C, H, W), num_frames=F) -> (B*F, C, H, W)``.
    """

    def __init__(self, in_channels: int, head_dim: int = 64, num_heads: Optional[int] = None,
                 num_layers: int = 1, norm_groups: int = 32):
        super().__init__()
        num_heads = num_heads or in_channels // head_dim
        if num_heads < 1:
            raise InvalidValueError(f'TemporalTransformer: head_dim={head_dim} exceeds '
                                    f'in_channels={in_channels}; pass num_heads')
        inner = num_heads * head_dim
        self.norm = nn.GroupNorm(norm_groups, in_channels, eps=1e-6)
        self.proj_in = nn.Linear(in_channels, inner)
        self.transformer_blocks = nn.ModuleList([
            TemporalTransformerBlock(inner, num_heads, head_dim) for _ in range(num_layers)])
        self.proj_out = nn.Linear(inner, in_channels)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bf, c, height, width = x.shape
        b = bf // num_frames
        video = x.view(b, num_frames, c, height, width).transpose(1, 2)  # (B, C, F, H, W)
        h = F.group_norm(video, self.norm.num_groups, self.norm.weight, self.norm.bias,
                         self.norm.eps)
        # (B, C, F, H, W) -> (B*H*W, F, C): one sequence over the frames per position
        h = self.proj_in(h.permute(0, 3, 4, 2, 1).reshape(b * height * width, num_frames, c))
        for block in self.transformer_blocks:
            h = block(h)
        h = self.proj_out(h).view(b, height, width, num_frames, c).permute(0, 3, 4, 1, 2)
        return x + h.reshape(bf, c, height, width)
