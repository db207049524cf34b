"""An AnimateDiff-style motion module (Guo et al. 2023, arXiv 2307.04725, Sec. 4.2) as a vidrd
temporal layer."""
import torch
import torch.nn.functional as F
from torch import nn

from vidrd.models.temporal import frame_position_embedding
from vidrd.models.temporal.temporal_attention import FrameAttention
from vidrd.models.unets.resnet import video_group_norm
from vidrd.registry import TEMPORAL_LAYERS
from vidrd.utils.errors import InvalidValueError


class GEGLU(nn.Module):
    """``h * GELU(g)`` with ``[h, g] = proj(x)`` (Shazeer 2020), (..., C) -> (..., inner)."""

    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class GEGLUFeedForward(nn.Module):
    """GEGLU -> dropout -> linear, (N, F, C) -> (N, F, C) (names as diffusers' ``FeedForward``)."""

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(dropout),
                                  nn.Linear(dim * mult, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class MotionTransformerBlock(nn.Module):
    """``attention_blocks`` x [LayerNorm -> + frame positions -> self-attention across frames,
    residual], then LayerNorm -> feed-forward, residual. (N, F, C) -> (N, F, C)."""

    def __init__(self, dim: int, num_heads: int, attention_blocks: int = 2, ff_mult: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.attention_blocks = nn.ModuleList([
            FrameAttention(dim, num_heads, dim // num_heads, zero_init_out=False)
            for _ in range(attention_blocks)])
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(attention_blocks)])
        self.pos_dropout = nn.Dropout(dropout)
        self.ff = GEGLUFeedForward(dim, ff_mult, dropout)
        self.ff_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, f, c = x.shape
        positions = frame_position_embedding(f, c, x.device, x.dtype)[None]  # (1, F, C)
        for norm, attention in zip(self.norms, self.attention_blocks):
            x = x + attention(self.pos_dropout(norm(x) + positions))
        return x + self.ff(self.ff_norm(x))


@TEMPORAL_LAYERS.register_module()
class AnimateDiffMotionModule(nn.Module):
    """A temporal transformer after a spatial transformer, AnimateDiff's motion module.

    On every spatial position the frames of a video form a sequence::

        h = proj_in(GroupNorm(x))                   per frame, (B*F, C, H, W) -> (B*H*W, F, C)
        h = blocks(h)                               sinusoidal frame positions + self-attention
                                                    across frames, then a feed-forward
        out = x + proj_out(h)                       back to (B*F, C, H, W)

    ``proj_out`` is zero-initialised, so at init the module is the identity and the U-Net is
    the image model it was inserted into (AnimateDiff trains motion modules on a frozen image
    model). Its frame positions are its own (sinusoidal, added to the normed hidden states of
    every attention block, as in AnimateDiff), independent of VidRD's Temp-Attn embedding. As in
    AnimateDiff, a single frame also passes through the attention (a trained module is not the
    identity on images).

    Use it in the U-Net's ``temporal_module`` placement (after each spatial transformer)::

        unet=dict(temporal_attention=None, temporal_conv=None,
                  temporal_module=dict(type='AnimateDiffMotionModule', num_heads=8))

    The block stores it as ``temp_modules.i``, so its parameters are temporal ones
    (``trainable=('temporal',)``).

    Args:
        in_channels: C, channels of the feature map (given by the U-Net block).
        num_heads: attention heads; must divide C (head size C / num_heads, as AnimateDiff).
        num_layers: transformer blocks.
        attention_blocks: self-attention layers per transformer block (AnimateDiff: 2).
        ff_mult: feed-forward width multiplier.
        norm_num_groups: groups of the input GroupNorm; must divide C.
        dropout: dropout of positions, attention output and feed-forward.
        zero_init: zero-initialise ``proj_out`` (identity at init).
        norm_over_frames: statistics of the input GroupNorm over all frames of a video, as
            diffusers' ``AnimateDiffTransformer3D`` (``AnimateDiffPipeline``); ``False`` (the
            original AnimateDiff code) normalises every frame on its own.

    Shapes: ``forward(x (B*F, C, H, W), num_frames=F) -> (B*F, C, H, W)``.
    """

    def __init__(self, in_channels: int, num_heads: int = 8, num_layers: int = 1,
                 attention_blocks: int = 2, ff_mult: int = 4, norm_num_groups: int = 32,
                 dropout: float = 0.0, zero_init: bool = True, norm_over_frames: bool = False):
        super().__init__()
        if in_channels % num_heads:
            raise InvalidValueError(
                f'AnimateDiffMotionModule: num_heads={num_heads} does not divide '
                f'in_channels={in_channels}; choose a divisor of every level\'s '
                'block_out_channels')
        if in_channels % norm_num_groups:
            raise InvalidValueError(
                f'AnimateDiffMotionModule: norm_num_groups={norm_num_groups} does '
                f'not divide in_channels={in_channels}')
        self.norm = nn.GroupNorm(norm_num_groups, in_channels, eps=1e-6)
        self.norm_over_frames = norm_over_frames
        self.proj_in = nn.Linear(in_channels, in_channels)
        self.transformer_blocks = nn.ModuleList([
            MotionTransformerBlock(in_channels, num_heads, attention_blocks, ff_mult, dropout)
            for _ in range(num_layers)])
        self.proj_out = nn.Linear(in_channels, in_channels)
        if zero_init:
            nn.init.zeros_(self.proj_out.weight)
            nn.init.zeros_(self.proj_out.bias)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bf, c, height, width = x.shape
        if bf % num_frames:
            raise ValueError(f'AnimateDiffMotionModule: batch*frames={bf} is not a multiple of '
                             f'num_frames={num_frames}')
        tokens = height * width
        h = video_group_norm(x, self.norm, num_frames if self.norm_over_frames else 1)
        h = self.proj_in(h.permute(0, 2, 3, 1).reshape(bf, tokens, c))
        # (B*F, HW, C) -> (B*HW, F, C): a sequence over the frames at each position
        h = h.view(-1, num_frames, tokens, c).transpose(1, 2).reshape(-1, num_frames, c)
        for block in self.transformer_blocks:
            h = block(h)
        h = h.view(-1, tokens, num_frames, c).transpose(1, 2).reshape(bf, tokens, c)
        h = self.proj_out(h).reshape(bf, height, width, c).permute(0, 3, 1, 2)
        return x + h
