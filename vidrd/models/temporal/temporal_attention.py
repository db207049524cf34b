"""Temp-Attn: self-attention across the frames of a video, inside each spatial transformer block."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vidrd.registry import TEMPORAL_LAYERS


def frame_position_embedding(num_frames: int, dim: int, device=None,
                             dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal embedding of frame indices 0..F-1, shape (F, dim).

    Transformer-style: channel 2i is sin(f / 10000^(2i/dim)), channel 2i+1 the cosine.
    """
    position = torch.arange(num_frames, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / dim))
    emb = torch.zeros(num_frames, dim, device=device, dtype=torch.float32)
    emb[:, 0::2] = torch.sin(position * freq)
    emb[:, 1::2] = torch.cos(position * freq)
    return emb.to(dtype)


class FrameAttention(nn.Module):
    """Multi-head self-attention over a (N, F, C) sequence (names as diffusers' ``Attention``)."""

    def __init__(self, dim: int, num_heads: int, head_dim: int, zero_init_out: bool = True):
        super().__init__()
        inner = num_heads * head_dim
        self.num_heads = num_heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(0.0)])
        if zero_init_out:
            nn.init.zeros_(self.to_out[0].weight)
            nn.init.zeros_(self.to_out[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, F, C) -> (N, F, C)."""
        q, k, v = (rearrange(proj(x), 'n f (heads d) -> n heads f d', heads=self.num_heads)
                   for proj in (self.to_q, self.to_k, self.to_v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out[0](rearrange(out, 'n heads f d -> n f (heads d)'))


@TEMPORAL_LAYERS.register_module()
class TemporalAttention(FrameAttention):
    """The original in-block Temp-Attn of VidRD (after cross-attention, before the feed-forward).

    Each spatial token attends to the same token in the other frames of its video. The output
    projection is zero-initialised, so at init the block equals the 2D one. The LayerNorm in
    front of it belongs to the transformer block (``temp_norm``, the original's parameter name)
    and is passed to :meth:`forward`.

    With ``frame_embedding=True`` a sinusoidal frame-position embedding (dim = channels) is added
    to the hidden states before the norm and stays in the residual stream; the original adds it
    in place, so even a single frame receives the position-0 embedding. Without it, a single
    frame passes through unchanged.

    Shapes: ``forward(x (B*F, L, C), num_frames=F, norm) -> (B*F, L, C)``.
    """

    def __init__(self, dim: int, num_heads: int, head_dim: int, frame_embedding: bool = False,
                 zero_init: bool = True):
        super().__init__(dim, num_heads, head_dim, zero_init_out=zero_init)
        self.frame_embedding = frame_embedding

    def forward(self, x: torch.Tensor, num_frames: int,  # type: ignore[override]
                norm: Optional[nn.Module] = None) -> torch.Tensor:
        bf, tokens, c = x.shape
        if self.frame_embedding:
            emb = frame_position_embedding(num_frames, c, x.device, x.dtype)
            x = (x.view(-1, num_frames, tokens, c) + emb[None, :, None, :]).view(bf, tokens, c)
        if num_frames == 1:
            return x
        h = norm(x) if norm is not None else x
        # attend across frames at each spatial token: one copy in, one copy out
        h = rearrange(h, '(b f) l c -> (b l) f c', f=num_frames)
        h = super().forward(h)
        h = rearrange(h, '(b l) f c -> (b f) l c', l=tokens)
        return h.add_(x)
