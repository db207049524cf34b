"""Noise-level tables shared by the training schedule and the samplers.

One place computes the variance schedule beta_1..beta_T and the cumulative products
alpha_bar_t = prod_{s<=t} (1 - beta_s) of DDPM (Ho et al. 2020, eq. 4), so that
:class:`DDPMNoiseSchedule` (training) and :class:`DDIMScheduler` (sampling) can never disagree.
Everything is float32 on the CPU, as in the diffusers schedulers that SD-2.1 was trained with, so
the tables are bit-identical to theirs.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
from vidrd.utils.errors import InvalidValueError

BETA_SCHEDULES = ('linear', 'scaled_linear', 'squaredcos_cap_v2')


def cosine_betas(num_train_timesteps: int, max_beta: float = 0.999) -> torch.Tensor:
    """Betas of the cosine schedule (Nichol & Dhariwal 2021, eq. 17), each capped at ``max_beta``.

    alpha_bar(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2) with s = 0.008, and
    beta_t = 1 - alpha_bar(t) / alpha_bar(t - 1). Computed in float64 Python, stored as float32.
    """
    def alpha_bar(fraction: float) -> float:
        return math.cos((fraction + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / num_train_timesteps) / alpha_bar(i / num_train_timesteps),
                 max_beta) for i in range(num_train_timesteps)]
    return torch.tensor(betas, dtype=torch.float32)


def make_betas(num_train_timesteps: int = 1000, beta_start: float = 0.00085,
               beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
               trained_betas: Optional[Sequence[float]] = None) -> torch.Tensor:
    """The variance schedule beta_t, t = 0..T-1, shape (T,), float32.

    Args:
        beta_schedule: ``'linear'`` (DDPM: evenly spaced betas), ``'scaled_linear'`` (latent
            diffusion / SD: evenly spaced sqrt(beta), then squared) or ``'squaredcos_cap_v2'``
            (improved DDPM's cosine schedule; ``beta_start`` / ``beta_end`` are unused).
        trained_betas: explicit betas (length T); overrides the other arguments.
    """
    if trained_betas is not None:
        betas = torch.tensor(list(trained_betas), dtype=torch.float32)
        if betas.ndim != 1 or len(betas) != num_train_timesteps:
            raise ValueError(f'trained_betas has {tuple(betas.shape)} values, expected '
                             f'num_train_timesteps={num_train_timesteps}')
        return betas
    if num_train_timesteps < 1:
        raise ValueError(f'num_train_timesteps must be >= 1, got {num_train_timesteps}')
    if beta_schedule == 'linear':
        return torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
    if beta_schedule == 'scaled_linear':
        return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_train_timesteps,
                              dtype=torch.float32) ** 2
    if beta_schedule == 'squaredcos_cap_v2':
        return cosine_betas(num_train_timesteps)
    raise InvalidValueError(
        f'unknown beta_schedule {beta_schedule!r}; choose one of {BETA_SCHEDULES}')


def make_alphas_cumprod(num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                        beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
                        trained_betas: Optional[Sequence[float]] = None
                        ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(betas, alphas_cumprod)``, both (T,) float32: alpha_bar_t = prod_{s<=t} (1 - beta_s)."""
    betas = make_betas(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas)
    return betas, torch.cumprod(1.0 - betas, dim=0)
