"""DPM-Solver++ (2M), Lu et al. 2022: the multistep solver diffusers' video pipelines use."""
import math
from typing import Optional, Sequence

import torch

from .multistep_solver import MultistepSolver, OrderLike, by_order, min_order, register_solver
from vidrd.utils.errors import InvalidValueError

SOLVER_TYPES = ('midpoint', 'heun')


@register_solver
class DPMSolverMultistepScheduler(MultistepSolver):
    """DPM-Solver++ in its multistep form (Lu et al. 2022, "DPM-Solver++: Fast Solver for
    Guided Sampling of Diffusion Probabilistic Models", Algorithm 2, 2M).

    With the data prediction x0_hat_i at x_{t_i}, h_i = lambda_{t_{i+1}} - lambda_{t_i}
    (lambda the half log-SNR, see ``multistep_solver.py``) and alpha, sigma of t_{i+1}:

    - first order (DPM-Solver++1, eq. 10; DDIM with eta 0)::

        x_{t_{i+1}} = (sigma_{i+1} / sigma_i) x_{t_i} - alpha_{i+1} (e^{-h_i} - 1) x0_hat_i

    - second order (2M, Algorithm 2), with r_i = h_{i-1} / h_i and
      D_i = x0_hat_i - x0_hat_{i-1}::

        midpoint: x_{t_{i+1}} = (sigma_{i+1} / sigma_i) x_{t_i}
                      - alpha_{i+1} (e^{-h_i} - 1) (x0_hat_i + D_i / (2 r_i))
        heun:     x_{t_{i+1}} = (sigma_{i+1} / sigma_i) x_{t_i}
                      - alpha_{i+1} (e^{-h_i} - 1) x0_hat_i
                      + alpha_{i+1} ((e^{-h_i} - 1) / h_i + 1) D_i / r_i

    The first step has no previous output and is first order. With ``final_sigmas_type``
    ``'zero'`` the last step lands on sigma = 0 (h infinite), where only the first-order
    update is defined: it returns x0_hat. Coefficients are computed in float64 from the
    alpha_bar table; the update runs in the sample's dtype.

    A frame restarted by ``step(..., restart=mask)`` (its latents replaced between steps)
    takes the first-order update at that step: its stored output belongs to another
    trajectory (see ``multistep_solver.py``).

    Args:
        solver_order: 1 (DPM-Solver++1, i.e. DDIM) or 2 (2M, the default).
        algorithm_type: ``'dpmsolver++'`` (data prediction; the only one implemented).
        solver_type: ``'midpoint'`` (the paper's Algorithm 2, diffusers' default) or
            ``'heun'``.
        euler_at_final: first order at the last step always.
        lambda_min_clipped: the grid stops where lambda falls below this value (cosine
            schedules; -inf: no clipping).
        others: see :class:`MultistepSolver`.
    """

    SOLVER_ORDERS = (1, 2)
    SOLVER_DEFAULTS = dict(solver_order=2, algorithm_type='dpmsolver++', solver_type='midpoint',
                           lower_order_final=True, euler_at_final=False,
                           final_sigmas_type='zero', lambda_min_clipped=-math.inf,
                           timestep_spacing='linspace')

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                 beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
                 trained_betas: Optional[Sequence[float]] = None,
                 prediction_type: str = 'epsilon', solver_order: int = 2,
                 algorithm_type: str = 'dpmsolver++', solver_type: str = 'midpoint',
                 lower_order_final: bool = True, euler_at_final: bool = False,
                 final_sigmas_type: str = 'zero', lambda_min_clipped: float = -math.inf,
                 timestep_spacing: str = 'linspace', steps_offset: int = 0,
                 clip_sample: bool = False, clip_sample_range: float = 1.0,
                 set_alpha_to_one: Optional[bool] = None):
        super().__init__(num_train_timesteps=num_train_timesteps, beta_start=beta_start,
                         beta_end=beta_end, beta_schedule=beta_schedule,
                         trained_betas=trained_betas, prediction_type=prediction_type,
                         solver_order=solver_order, timestep_spacing=timestep_spacing,
                         steps_offset=steps_offset, final_sigmas_type=final_sigmas_type,
                         lower_order_final=lower_order_final, clip_sample=clip_sample,
                         clip_sample_range=clip_sample_range)
        if algorithm_type != 'dpmsolver++':
            raise InvalidValueError(
                f"DPMSolverMultistepScheduler: algorithm_type={algorithm_type!r} is "
                "not implemented; only 'dpmsolver++' (data prediction, for guided "
                'sampling)')
        if solver_type not in SOLVER_TYPES:
            raise InvalidValueError(
                f'DPMSolverMultistepScheduler: solver_type={solver_type!r}; choose '
                f'one of {SOLVER_TYPES}')
        self.solver_type = solver_type
        self.euler_at_final = bool(euler_at_final)
        self.lambda_min_clipped = float(lambda_min_clipped)

    def _last_timestep(self) -> int:
        """T, less the timesteps whose lambda is below ``lambda_min_clipped`` (float32, as the
        table)."""
        if self.lambda_min_clipped == -math.inf:
            return self.num_train_timesteps
        alpha_bar = self.alphas_cumprod
        lam = torch.log(alpha_bar.sqrt()) - torch.log((1 - alpha_bar).sqrt())
        clipped = int(torch.searchsorted(lam.flip(0), self.lambda_min_clipped))
        return self.num_train_timesteps - clipped

    def _final_step_cap(self, i: int) -> int:
        n = self.num_inference_steps
        if i == n - 1 and (self.euler_at_final or self.final_sigmas_type == 'zero'
                           or (self.lower_order_final and n < 15)):
            return 1
        return self.solver_order

    def _update(self, i: int, x0: torch.Tensor, sample: torch.Tensor,
                restart: Optional[torch.Tensor]) -> torch.Tensor:
        state = self.state
        history = self._push(x0, restart)
        orders: OrderLike = min_order(self._final_step_cap(i), history)
        if not isinstance(orders, int):
            orders = orders.to(sample.device)
        alpha_s, sigma_s, lam_s = self._grid[i]
        alpha_t, sigma_t, lam_t = self._grid[i + 1]
        h = lam_t - lam_s
        phi = math.expm1(-h)  # e^{-h} - 1 (-1 at sigma_t = 0)
        ratio = sigma_t / sigma_s
        m0 = state.outputs[-1]

        def update(order: int) -> torch.Tensor:
            if order == 1:
                return self._combine([(ratio, sample), (-alpha_t * phi, m0)])
            m1 = state.outputs[-2]
            h_prev = lam_s - self._grid[i - 1][2]
            r = h_prev / h
            if self.solver_type == 'midpoint':
                # -alpha (e^{-h} - 1) (x0_hat_i + c (x0_hat_i - x0_hat_{i-1})), c = 1 / (2 r)
                c1 = -alpha_t * phi * 0.5 / r
                return self._combine([(ratio, sample), (-alpha_t * phi + c1, m0), (-c1, m1)])
            c1 = alpha_t * (phi / h + 1.0) / r
            return self._combine([(ratio, sample), (-alpha_t * phi + c1, m0), (-c1, m1)])

        return by_order(orders, update)
