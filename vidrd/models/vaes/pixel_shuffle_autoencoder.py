"""A parameter-free "autoencoder" for tiny models: space-to-depth (pixel unshuffle) and back."""
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vidrd.registry import MODELS
from vidrd.utils.errors import InvalidValueError


@MODELS.register_module()
class PixelShuffleAutoencoder(nn.Module):
    """Latents are the pixels folded into channels: (3, H, W) -> (3 * r^2, H/r, W/r).

    Lossless and instant, it lets the embedded demo train a latent video model on the CPU
    without first training a VAE; it offers the video API of :class:`AutoencoderKL`
    (``encode_video`` / ``decode_video``, ``spatial_compression``, ``config``), so a config
    swaps one for the other in one line.

    Args:
        factor: r, the spatial compression (1 = pixel space).
        scaling_factor: latents are ``pixels * scaling_factor`` (pixels in [-1, 1]).
    """

    def __init__(self, factor: int = 2, in_channels: int = 3, scaling_factor: float = 1.0):
        super().__init__()
        if factor < 1:
            raise InvalidValueError(f'PixelShuffleAutoencoder: factor must be >= 1, got {factor}')
        self.factor = factor
        self.scaling_factor = scaling_factor
        self.config = dict(in_channels=in_channels, latent_channels=in_channels * factor ** 2,
                           scaling_factor=scaling_factor)

    @property
    def spatial_compression(self) -> int:
        return self.factor

    @property
    def has_temporal_layers(self) -> bool:
        return False

    def encode_video(self, video: torch.Tensor, sample: bool = True, **kwargs) -> torch.Tensor:
        """(B, 3, F, H, W) in [-1, 1] -> (B, 3 r^2, F, H/r, W/r)."""
        b, c, f, h, w = video.shape
        if h % self.factor or w % self.factor:
            raise ValueError(f'frame size {h}x{w} is not divisible by the factor {self.factor}')
        frames = rearrange(video, 'b c f h w -> (b f) c h w')
        z = F.pixel_unshuffle(frames, self.factor) * self.scaling_factor
        return rearrange(z, '(b f) c h w -> b c f h w', f=f)

    def decode_video(self, latents: torch.Tensor, **kwargs) -> torch.Tensor:
        """(B, 3 r^2, F, h, w) -> (B, 3, F, h r, w r)."""
        b, c, f, h, w = latents.shape
        frames = rearrange(latents, 'b c f h w -> (b f) c h w') / self.scaling_factor
        x = F.pixel_shuffle(frames, self.factor)
        return rearrange(x, '(b f) c h w -> b c f h w', f=f)
