"""Spatial ResNet block and resamplers of the SD U-Net, applied per frame on (B*F, C, H, W)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def silu_(x: torch.Tensor) -> torch.Tensor:
    """SiLU, in place where autograd does not need the input (saves a tensor's traffic)."""
    return F.silu(x, inplace=not (torch.is_grad_enabled() and x.requires_grad))


def video_group_norm(x: torch.Tensor, norm: nn.GroupNorm, num_frames: int,
                     silu: bool = False) -> torch.Tensor:
    """GroupNorm of (B*F, C, H, W) with statistics over all F frames of each video [+ SiLU].

    The original VidRD applies its ResNets' GroupNorms to the 5-D (B, C, F, H, W) tensor, so a
    group's mean and variance span the whole clip; the image model's per-frame statistics are
    the case F = 1. Both layouts work on views of the frame-batched tensor (no permute to
    (B, C, F, H, W) and back) and keep the input's memory format: channels-last goes through
    GroupNorm's own kernel, contiguous through one ``var_mean`` and one ``addcmul``. ``silu``
    applies the activation in place.
    """
    if num_frames == 1:
        out = norm(x)
        return silu_(out) if silu else out
    bf, c, h, w = x.shape
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        # channels-last memory is (B, F, H, W, C): the clip is the 4-D channels-last tensor
        # (B, C, F*H, W), which GroupNorm's channels-last kernel normalises in one pass (the
        # strided reduction below reads such a tensor at a fraction of the bandwidth)
        clip = x.permute(0, 2, 3, 1).reshape(bf // num_frames, num_frames * h, w, c)
        out = norm(clip.permute(0, 3, 1, 2))
        out = out.permute(0, 2, 3, 1).reshape(bf, h, w, c).permute(0, 3, 1, 2)
        return silu_(out) if silu else out
    groups = norm.num_groups
    # (B*F, C, H, W) -> (B, F, G, C/G, H, W): a view of the contiguous tensor
    grouped = x.view(bf // num_frames, num_frames, groups, c // groups, h, w)
    # statistics in float32 at least: a bf16 mean loses a large offset (the output is float32)
    stats = grouped if grouped.dtype in (torch.float32, torch.float64) else grouped.float()
    var, mean = torch.var_mean(stats, dim=(1, 3, 4, 5), correction=0, keepdim=True)
    scale = torch.rsqrt(var + norm.eps)  # (B, 1, G, 1, 1, 1)
    if norm.affine:
        scale = scale * norm.weight.view(1, 1, groups, -1, 1, 1)  # (B, 1, G, C/G, 1, 1)
        shift = norm.bias.view(1, 1, groups, -1, 1, 1) - mean * scale
    else:
        shift = -mean * scale
    out = torch.addcmul(shift, grouped, scale).view(bf, c, h, w)
    return silu_(out) if silu else out


class ResnetBlock2D(nn.Module):
    """GroupNorm-SiLU-Conv twice, with the timestep embedding added in between; residual.

    ``norm_over_frames``: GroupNorm statistics over the frames of each video (the original
    VidRD) instead of per frame (the image model).
    """

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int,
                 groups: int = 32, eps: float = 1e-5, dropout: float = 0.0,
                 norm_over_frames: bool = True):
        super().__init__()
        self.norm_over_frames = norm_over_frames
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = (nn.Conv2d(in_channels, out_channels, 1)
                              if in_channels != out_channels else None)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, num_frames: int = 1) -> torch.Tensor:
        """``x`` (B*F, C_in, H, W), ``temb`` (B*F, T) -> (B*F, C_out, H, W)."""
        frames = num_frames if self.norm_over_frames else 1
        h = self.conv1(video_group_norm(x, self.norm1, frames, silu=True))
        # in place on fresh conv outputs: their backward does not need them
        h += self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(video_group_norm(h, self.norm2, frames, silu=True)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return h.add_(x)


class Downsample2D(nn.Module):
    """Strided 3x3 conv, halving H and W."""

    def __init__(self, channels: int, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest-neighbour 2x upsampling (or to ``size``) followed by a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode='nearest')
        else:
            x = F.interpolate(x, size=size, mode='nearest')
        return self.conv(x)
