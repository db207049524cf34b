"""Spatial transformer of the SD U-Net with VidRD's in-block temporal attention.

All spatial layers act per frame on (B*F, L, C) tokens; parameter names equal diffusers'
``Transformer2DModel`` / ``BasicTransformerBlock`` so SD checkpoints load without renaming.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vidrd.registry import TEMPORAL_LAYERS


@dataclass
class TextConditioning:
    """A fixed text conditioning with the cross-attention keys and values of every layer.

    Built once per sampling run by ``UNet3DConditionModel.precompute_text_conditioning`` and
    passed instead of ``encoder_hidden_states``: the K/V projections of the text, identical
    at every DDIM step and clip, are then not recomputed per U-Net call.

    Attributes:
        states: the embeddings (B, S, D).
        kv: ``{cross-attention layer name: (K, V)}``, each (B, heads, S, head size).
    """
    states: torch.Tensor
    kv: Dict[str, Tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


Context = Union[torch.Tensor, TextConditioning]


class Attention(nn.Module):
    """Multi-head (cross-)attention through ``scaled_dot_product_attention``.

    ``kv_name`` (set by the U-Net on its cross-attention layers) is the key of this layer's
    precomputed K / V in a :class:`TextConditioning`.
    """

    def __init__(self, query_dim: int, num_heads: int, head_dim: int,
                 cross_attention_dim: Optional[int] = None):
        super().__init__()
        inner = num_heads * head_dim
        context_dim = cross_attention_dim or query_dim
        self.num_heads = num_heads
        self.kv_name: Optional[str] = None
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(0.0)])

    def key_value(self, context: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cross-attention K, V of ``context`` (B, S, D), each (B, heads, S, head size)."""
        return tuple(rearrange(proj(context), 'b s (heads d) -> b heads s d', heads=self.num_heads)
                     for proj in (self.to_k, self.to_v))

    def forward(self, x: torch.Tensor, context: Optional[Context] = None,
                num_frames: int = 1) -> torch.Tensor:
        """``x`` (B*F, L, C); ``context`` (B, S, D) shared by the F frames of a video (or its
        :class:`TextConditioning`), or None for self-attention.

        Cross-attention keys and values are computed once per video, not once per frame: the
        queries of all F frames are folded into one sequence of F*L queries, which attend
        independently, so the result equals per-frame attention without F copies of the text.
        """
        heads = self.num_heads
        q = self.to_q(x)
        if context is None:
            q, k, v = (rearrange(t, 'n l (heads d) -> n heads l d', heads=heads)
                       for t in (q, self.to_k(x), self.to_v(x)))
            out = F.scaled_dot_product_attention(q, k, v)
            out = rearrange(out, 'n heads l d -> n l (heads d)')
        else:
            kv = context.kv.get(self.kv_name) if isinstance(context, TextConditioning) else None
            if kv is None:  # plain embeddings, or a layer the precomputation did not cover
                kv = self.key_value(getattr(context, 'states', context))
            k, v = kv
            q = rearrange(q, '(b f) l (heads d) -> b heads (f l) d', f=num_frames, heads=heads)
            out = F.scaled_dot_product_attention(q, k, v)
            out = rearrange(out, 'b heads (f l) d -> (b f) l (heads d)', f=num_frames)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    """Gated GELU: ``proj`` maps to 2x the inner width; one half gates the other."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (..., dim_in) -> (..., dim_out)."""
        if torch.is_grad_enabled():
            hidden, gate = self.proj(x).chunk(2, dim=-1)
            return hidden * F.gelu(gate)
        # Inference: two GEMMs on row slices of ``proj`` instead of chunks of one output, so
        # GELU and the product run on contiguous tensors, the product overwrites the GELU
        # output, and no (N, L, 2 * inner) buffer is made (at 32 MiB and more glibc maps it
        # afresh, faulting it in on every call). U-Net forward ~6% faster at the size
        # (benchmarks/README.md). Training keeps one GEMM: the sliced weights' backward costs
        # more than this saves.
        inner = self.proj.out_features // 2
        weight, bias = self.proj.weight, self.proj.bias
        gate = F.gelu(F.linear(x, weight[inner:], bias[inner:]))
        return gate.mul_(F.linear(x, weight[:inner], bias[:inner]))


class FeedForward(nn.Module):
    """GEGLU feed-forward with 4x inner width (``net.0.proj``, ``net.2``)."""

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([GEGLU(dim, inner), nn.Dropout(dropout), nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Self-attention, cross-attention, [temporal attention], feed-forward; pre-norm residuals.

    The optional in-block temporal layer (``temporal_attention`` config, e.g. the original
    ``TemporalAttention``) sits after cross-attention and before the feed-forward, as in the
    original code; its LayerNorm is ``temp_norm`` and the layer itself ``temp_attn``.
    """

    def __init__(self, dim: int, num_heads: int, head_dim: int, cross_attention_dim: int,
                 temporal_attention: Optional[dict] = None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, num_heads, head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, num_heads, head_dim, cross_attention_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)
        if temporal_attention is not None:
            self.temp_norm = nn.LayerNorm(dim)
            self.temp_attn = TEMPORAL_LAYERS.build(
                temporal_attention,
                default_args=dict(dim=dim, num_heads=num_heads, head_dim=head_dim))
        else:
            self.temp_attn = None

    def forward(self, x: torch.Tensor, context: Context, num_frames: int) -> torch.Tensor:
        # residuals added in place into fresh linear outputs (their backward does not need them)
        x = self.attn1(self.norm1(x)).add_(x)
        x = self.attn2(self.norm2(x), context, num_frames).add_(x)
        if self.temp_attn is not None:
            x = self.temp_attn(x, num_frames, norm=self.temp_norm)
        return self.ff(self.norm3(x)).add_(x)


class Transformer2D(nn.Module):
    """GroupNorm, projection in, transformer blocks, projection out; residual (per frame).

    ``use_linear_projection=True`` (SD-2.x) projects tokens with Linear layers, otherwise (SD-1.x)
    with 1x1 convolutions.
    """

    def __init__(self, channels: int, num_heads: int, cross_attention_dim: int,
                 num_layers: int = 1, groups: int = 32, use_linear_projection: bool = True,
                 temporal_attention: Optional[dict] = None):
        super().__init__()
        head_dim = channels // num_heads
        self.use_linear_projection = use_linear_projection
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        if use_linear_projection:
            self.proj_in = nn.Linear(channels, channels)
            self.proj_out = nn.Linear(channels, channels)
        else:
            self.proj_in = nn.Conv2d(channels, channels, 1)
            self.proj_out = nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(channels, num_heads, head_dim, cross_attention_dim,
                                  temporal_attention) for _ in range(num_layers)])

    def forward(self, x: torch.Tensor, context: Context, num_frames: int) -> torch.Tensor:
        """``x`` (B*F, C, H, W), ``context`` (B, S, D) -> (B*F, C, H, W).

        In the U-Net's channels-last layout the token views below are free (no copy).
        """
        h, w = x.shape[-2:]
        residual = x
        x = self.norm(x)
        if not self.use_linear_projection:
            x = self.proj_in(x)
        x = rearrange(x, 'n c h w -> n (h w) c')
        if self.use_linear_projection:
            x = self.proj_in(x)
        for block in self.transformer_blocks:
            x = block(x, context, num_frames)
        if self.use_linear_projection:
            x = self.proj_out(x)
        x = rearrange(x, 'n (h w) c -> n c h w', h=h, w=w)
        if not self.use_linear_projection:
            x = self.proj_out(x)
        return x + residual
