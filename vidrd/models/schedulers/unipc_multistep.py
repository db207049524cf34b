"""UniPC, Zhao et al. 2023: a multistep predictor-corrector for fast sampling."""
import math
from typing import List, Optional, Sequence

import torch

from .multistep_solver import MultistepSolver, OrderLike, by_order, min_order, register_solver
from vidrd.utils.errors import InvalidValueError

SOLVER_TYPES = ('bh1', 'bh2')


@register_solver
class UniPCMultistepScheduler(MultistepSolver):
    """UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast
    Sampling of Diffusion Models"), data-prediction form with B(h), multistep.

    Every step i runs the corrector UniC on x_{t_i} (from step i - 1's start), then the
    predictor UniP from the corrected sample. The network is evaluated once per step, at the
    *uncorrected* x_{t_i}: UniC reuses that evaluation (Sec. 3.1), which is why it is free.

    With h = lambda_t - lambda_s (lambda the half log-SNR, see ``multistep_solver.py``),
    hh = -h (data prediction), B(h) = hh (``'bh1'``) or e^{hh} - 1 (``'bh2'``), the
    previous points s_k = t_{i-k}, r_k = (lambda_{s_k} - lambda_s) / h and
    D_k = (x0_hat_{s_k} - x0_hat_s) / r_k:

    - UniP-p (Algorithm 2, eq. 8)::

        x_t = (sigma_t / sigma_s) x_s - alpha_t (e^{hh} - 1) x0_hat_s
              - alpha_t B(h) sum_{k=1}^{p-1} a_k D_k

    - UniC-p (eq. 9), with the new output x0_hat_t at the predicted x_t and r_p = 1::

        x_t^c = (sigma_t / sigma_s) x_s - alpha_t (e^{hh} - 1) x0_hat_s
                - alpha_t B(h) (sum_{k=1}^{p-1} c_k D_k + c_p (x0_hat_t - x0_hat_s))

    where (a_k) solves R_{p-1} a = g_{p-1} and (c_k) solves R_p c = g_p (Theorem 3.1):
    R_p[j, k] = r_k^{j-1}, g_p[j] = hh phi_{j+1}(hh) j! / B(h), phi_1(z) = (e^z - 1) / z,
    phi_{j+1}(z) = (phi_j(z) - 1 / j!) / z. UniP-2 and UniC-1 take a = c = 1/2, as the
    paper's implementation does. The corrector at step i has the order of step i - 1's
    predictor; orders rise from 1 as outputs accumulate and fall to 1 at the last step with
    ``lower_order_final``.

    A frame restarted by ``step(..., restart=mask)`` (its latents replaced between steps) is
    not corrected at that step (its sample is given, not predicted) and its predictor is
    first order (see ``multistep_solver.py``).

    Args:
        solver_order: p of UniP-p (1 to 3; 2 is diffusers' default, for guided sampling).
        solver_type: ``'bh2'`` (B(h) = e^{hh} - 1, diffusers' default) or ``'bh1'``.
        disable_corrector: step indices i whose sample is not corrected (the corrector of
            step i + 1 is skipped; diffusers' meaning).
        predict_x0: the data-prediction form (True; the only one implemented).
        lower_order_final: the predictor order never exceeds the steps left.
        others: see :class:`MultistepSolver`.
    """

    SOLVER_DEFAULTS = dict(solver_order=2, solver_type='bh2', lower_order_final=True,
                           disable_corrector=[], predict_x0=True, final_sigmas_type='zero',
                           timestep_spacing='linspace')
    FIXED_KEYS = dict(MultistepSolver.FIXED_KEYS, solver_p=None)

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                 beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
                 trained_betas: Optional[Sequence[float]] = None,
                 prediction_type: str = 'epsilon', solver_order: int = 2,
                 solver_type: str = 'bh2', lower_order_final: bool = True,
                 disable_corrector: Sequence[int] = (), predict_x0: bool = True,
                 final_sigmas_type: str = 'zero', timestep_spacing: str = 'linspace',
                 steps_offset: int = 0, clip_sample: bool = False,
                 clip_sample_range: float = 1.0, set_alpha_to_one: Optional[bool] = None):
        super().__init__(num_train_timesteps=num_train_timesteps, beta_start=beta_start,
                         beta_end=beta_end, beta_schedule=beta_schedule,
                         trained_betas=trained_betas, prediction_type=prediction_type,
                         solver_order=solver_order, timestep_spacing=timestep_spacing,
                         steps_offset=steps_offset, final_sigmas_type=final_sigmas_type,
                         lower_order_final=lower_order_final, clip_sample=clip_sample,
                         clip_sample_range=clip_sample_range)
        if solver_type not in SOLVER_TYPES:
            raise InvalidValueError(
                f'UniPCMultistepScheduler: solver_type={solver_type!r}; choose one '
                f'of {SOLVER_TYPES}')
        if not predict_x0:
            raise InvalidValueError(
                'UniPCMultistepScheduler: predict_x0=False (the noise-prediction '
                'form) is not implemented; use predict_x0=True')
        if (final_sigmas_type == 'zero' and not lower_order_final and solver_order > 1):
            raise InvalidValueError(
                'UniPCMultistepScheduler: final_sigmas_type=\'zero\' ends on an '
                'infinite log-SNR step that only a first-order update can take; '
                'set lower_order_final=True or final_sigmas_type=\'sigma_min\'')
        self.solver_type = solver_type
        self.disable_corrector = tuple(int(i) for i in disable_corrector)

    def _final_step_cap(self, i: int) -> int:
        if self.lower_order_final:
            return min(self.solver_order, self.num_inference_steps - i)
        return self.solver_order

    # --- the coefficients ---------------------------------------------------------------------
    def _coefficients(self, s: int, t: int, order: int, corrector: bool) -> tuple:
        """The update from grid point s to t as ``(c_x, c_0, [c_k for k = 1..order-1], c_t)``:
        x_t = c_x x_s + c_0 x0_hat_s + sum_k c_k x0_hat_{s-k} (+ c_t x0_hat_t, corrector)."""
        alpha_s, sigma_s, lam_s = self._grid[s]
        alpha_t, sigma_t, lam_t = self._grid[t]
        h = lam_t - lam_s
        hh = -h
        h_phi_1 = math.expm1(hh)  # hh phi_1(hh)
        b_h = hh if self.solver_type == 'bh1' else h_phi_1
        rks = [(self._grid[s - k][2] - lam_s) / h for k in range(1, order)]
        if corrector:
            rks.append(1.0)
        # g_j = hh phi_{j+1}(hh) j! / B(h), j = 1..len(rks)
        g, h_phi_k, factorial = [], h_phi_1 / hh - 1.0, 1.0
        for j in range(1, len(rks) + 1):
            g.append(h_phi_k * factorial / b_h)
            factorial *= j + 1
            h_phi_k = h_phi_k / hh - 1.0 / factorial
        if not rks:
            rhos: List[float] = []
        elif len(rks) == 1:
            rhos = [0.5]  # UniP-2 / UniC-1
        else:
            R = torch.tensor([[r ** (j - 1) for r in rks] for j in range(1, len(rks) + 1)],
                             dtype=torch.float64)
            rhos = torch.linalg.solve(R, torch.tensor(g, dtype=torch.float64)).tolist()
        c_x = sigma_t / sigma_s
        c_0 = -alpha_t * h_phi_1
        scale = -alpha_t * b_h
        # D_k = (x0_{s-k} - x0_s) / r_k: expand into coefficients of each output
        c_k = []
        for k in range(order - 1):
            c = scale * rhos[k] / rks[k]
            c_k.append(c)
            c_0 -= c
        c_t = 0.0
        if corrector:
            c_t = scale * rhos[-1]
            c_0 -= c_t
        return c_x, c_0, c_k, c_t

    def _predict(self, s: int, order: int, sample: torch.Tensor, outputs: List[torch.Tensor]
                 ) -> torch.Tensor:
        c_x, c_0, c_k, _ = self._coefficients(s, s + 1, order, corrector=False)
        terms = [(c_x, sample), (c_0, outputs[-1])]
        terms += [(c, outputs[-2 - k]) for k, c in enumerate(c_k)]
        return self._combine(terms)

    def _correct(self, s: int, order: int, x0_t: torch.Tensor) -> torch.Tensor:
        state = self.state
        c_x, c_0, c_k, c_t = self._coefficients(s, s + 1, order, corrector=True)
        terms = [(c_x, state.last_sample), (c_0, state.outputs[-1])]
        terms += [(c, state.outputs[-2 - k]) for k, c in enumerate(c_k)]
        terms.append((c_t, x0_t))
        return self._combine(terms)

    # --- one step -----------------------------------------------------------------------------
    def _update(self, i: int, x0: torch.Tensor, sample: torch.Tensor,
                restart: Optional[torch.Tensor]) -> torch.Tensor:
        state = self.state
        if i > 0 and (i - 1) not in self.disable_corrector and state.last_sample is not None:
            orders: OrderLike = state.last_order
            if not isinstance(orders, int):
                orders = orders.to(sample.device)
            corrected = by_order(orders, lambda o: self._correct(i - 1, o, x0))
            sample = corrected if restart is None else torch.where(restart, sample, corrected)
        history = self._push(x0, restart)
        orders = min_order(self._final_step_cap(i), history)
        if not isinstance(orders, int):
            orders = orders.to(sample.device)
        state.last_sample, state.last_order = sample, orders
        outputs = state.outputs
        return by_order(orders, lambda o: self._predict(i, o, sample, outputs))
