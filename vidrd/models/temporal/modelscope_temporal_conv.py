"""ModelScope T2V's temporal convolution (diffusers' ``TemporalConvLayer``) after every ResNet."""
import torch
from torch import nn

from vidrd.registry import TEMPORAL_LAYERS


@TEMPORAL_LAYERS.register_module()
class ModelScopeTemporalConv(nn.Module):
    """Residual stack ``conv1..conv4`` of [GroupNorm, SiLU, (Dropout,) Conv3d(k=(3,1,1))].

    The layout of ModelScope T2V / Zeroscope (``conv1`` has no dropout; ``conv4`` is
    zero-initialised, so a new layer is the identity). Unlike VidRD's :class:`TemporalConv`,
    a single frame is not passed through unchanged: the centre tap of each conv still acts, as
    in the released models. Parameter names (``conv1.0.weight``, ``conv2.3.weight``, ...) equal
    diffusers', so ``temp_convs.i`` of a ``UNet3DConditionModel`` folder loads by name.

    Shapes: ``forward(x (B*F, C, H, W), num_frames=F) -> (B*F, C, H, W)``.
    """

    def __init__(self, in_channels: int, dropout: float = 0.1, norm_groups: int = 32,
                 norm_eps: float = 1e-5, zero_init: bool = True):
        super().__init__()

        def conv(with_dropout: bool) -> nn.Sequential:
            layers = [nn.GroupNorm(norm_groups, in_channels, eps=norm_eps), nn.SiLU()]
            if with_dropout:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.Conv3d(in_channels, in_channels, (3, 1, 1), padding=(1, 0, 0)))
            return nn.Sequential(*layers)

        self.conv1 = conv(False)
        self.conv2, self.conv3, self.conv4 = conv(True), conv(True), conv(True)
        if zero_init:
            nn.init.zeros_(self.conv4[-1].weight)
            nn.init.zeros_(self.conv4[-1].bias)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        bf, c, h, w = x.shape
        # (B*F, C, H, W) -> (B, C, F, H, W): GroupNorm statistics span the clip
        video = x.view(bf // num_frames, num_frames, c, h, w).transpose(1, 2)
        out = self.conv4(self.conv3(self.conv2(self.conv1(video))))
        return x + out.transpose(1, 2).reshape(bf, c, h, w)
