"""Temp-Conv: the temporal convolution stack VidRD adds after every spatial ResNet."""
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vidrd.registry import TEMPORAL_LAYERS


@TEMPORAL_LAYERS.register_module()
class TemporalConv(nn.Module):
    """Residual stack of ``num_layers`` x [GroupNorm(32), SiLU, Dropout, Conv3d(k=(3,1,1))].

    The U-Net uses 4 layers, the VAE decoder 3. The last conv is zero-initialised and the
    stack is residual, so at init the layer is the identity and the 3D model equals the 2D one;
    a single frame (an image) always passes through unchanged.
    Parameter names
    (``convs.3.weight`` ...) equal the original release. GroupNorm statistics span all frames
    of a video, as in the original (the norm sees the 5-D tensor).

    A channels-last (B*F, C, H, W) input viewed as (B, C, F, H*W) is itself channels-last:
    the stack then runs without permute copies in or out.

    Args:
        in_channels: channels C of the feature map.
        num_layers: number of [norm, act, dropout, conv] groups.
        dropout: dropout probability.
        norm_groups: GroupNorm groups.

    Shapes: ``forward(x (B*F, C, H, W), num_frames=F) -> (B*F, C, H, W)``.
    """

    def __init__(self, in_channels: int, num_layers: int = 4, dropout: float = 0.1,
                 norm_groups: int = 32, norm_eps: float = 1e-5, zero_init: bool = True):
        super().__init__()
        layers = []
        for _ in range(num_layers):
            layers += [
                nn.GroupNorm(norm_groups, in_channels, eps=norm_eps),
                nn.SiLU(),
                nn.Dropout(dropout),
                nn.Conv3d(in_channels, in_channels, kernel_size=(3, 1, 1), padding=(1, 0, 0)),
            ]
        self.convs = nn.Sequential(*layers)
        if zero_init:
            nn.init.zeros_(self.convs[-1].weight)
            nn.init.zeros_(self.convs[-1].bias)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        if num_frames == 1:  # an image: the 2D model's output, whatever the weights
            return x
        h, w = x.shape[-2:]
        # (B, C, F, H*W): a free view of a channels-last input (a copy otherwise). Each Conv3d
        # with kernel (3, 1, 1) runs as the equal Conv2d with kernel (3, 1) on it: the 2D conv
        # keeps channels-last and takes oneDNN's path, where PyTorch sends a (3, 1, 1) Conv3d
        # of a small batch on one thread to its slow reference kernel.
        video = rearrange(x, '(b f) c h w -> b c f (h w)', f=num_frames)
        inplace = not torch.is_grad_enabled()
        for i in range(0, len(self.convs), 4):
            norm, _, dropout, conv = self.convs[i:i + 4]
            # GroupNorm over (C/G, F, H*W) = the original's over (C/G, F, H, W)
            video = F.silu(norm(video), inplace=inplace)  # SiLU overwrites the fresh output
            video = F.conv2d(dropout(video), conv.weight.squeeze(-1), conv.bias,
                             padding=(conv.padding[0], 0))
        # residual, back to (B*F, C, H, W)
        return rearrange(video, 'b c f (h w) -> (b f) c h w', h=h, w=w).add_(x)
