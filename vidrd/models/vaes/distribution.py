"""The VAE posterior q(z|x): a diagonal Gaussian per latent element."""
from typing import Optional

import torch


class DiagonalGaussian:
    """N(mean, diag(exp(logvar))) from the encoder's stacked output.

    Args:
        moments: (N, 2*C, h, w), mean on the first C channels, log-variance on the last C.
            The log-variance is clamped to [-30, 20] as in LDM / diffusers, so ``exp`` stays
            finite.
    """

    def __init__(self, moments: torch.Tensor):
        if moments.dim() < 2 or moments.shape[1] % 2:
            raise ValueError(f'expected (N, 2*C, ...) moments, got shape {tuple(moments.shape)}')
        self.mean, logvar = torch.chunk(moments, 2, dim=1)
        self.logvar = torch.clamp(logvar, -30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)

    def sample(self, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """z = mean + std * eps, eps ~ N(0, I) drawn with ``generator`` (on its device)."""
        if generator is not None and generator.device != self.mean.device:
            eps = torch.randn(self.mean.shape, generator=generator, device=generator.device,
                              dtype=self.mean.dtype).to(self.mean.device)
        else:
            eps = torch.randn(self.mean.shape, generator=generator, device=self.mean.device,
                              dtype=self.mean.dtype)
        return self.mean + self.std * eps

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) summed over all but the batch dimension, shape (N,)."""
        dims = list(range(1, self.mean.dim()))
        return 0.5 * torch.sum(self.mean.pow(2) + self.var - 1.0 - self.logvar, dim=dims)

    def __repr__(self) -> str:
        return f'DiagonalGaussian(shape={tuple(self.mean.shape)})'
