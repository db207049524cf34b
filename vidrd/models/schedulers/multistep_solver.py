"""What the multistep ODE solvers (DPM-Solver++, UniPC) share: the grid, the log-SNR, the
solver state with per-frame restarts, and reading a diffusers ``scheduler/`` folder.

Both solvers integrate the diffusion ODE in the data-prediction form (Lu et al. 2022,
DPM-Solver++, eq. 9)::

    x_t = (sigma_t / sigma_s) x_s + sigma_t int_{lambda_s}^{lambda_t} e^lambda x0_theta dlambda,

with alpha_t = sqrt(alpha_bar_t), sigma_t = sqrt(1 - alpha_bar_t) and the half log-SNR
lambda_t = log(alpha_t / sigma_t). A multistep solver approximates x0_theta on
[lambda_s, lambda_t] from the outputs of the previous steps, so it keeps a *state*: the last
converted outputs x0_hat (one per step) and, per element, how many of them belong to the
element's own trajectory (:class:`MultistepState`).

Restarts. A long-video sampler may replace frames between two steps (DSG copies the previous
clip's latents into prompt frames; reconstruction guidance re-noises them from the previous
clip's end). The stored outputs of such a frame were made on another trajectory, so extending
it with them would be wrong. ``step(..., restart=mask)`` therefore starts a new trajectory for
the masked frames at that step: their history is dropped, UniPC's corrector leaves their
sample as given, and their update is first order (DDIM's, eta 0); from the next step on they
use their new history as any frame does. Unmasked frames are unaffected, bit for bit.
"""
import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch

from vidrd.registry import DIFFUSION_SCHEDULERS

from .ddpm_noise_schedule import DDPMNoiseSchedule, Timesteps
from .sampling_scheduler import SamplingScheduler
from .scheduler_config import DIFFUSERS_DEFAULTS, read_scheduler_config
from vidrd.utils.errors import InvalidValueError

#: timestep spacings of the solvers (diffusers' names; Lin et al. 2024, Table 2)
TIMESTEP_SPACINGS = ('linspace', 'leading', 'trailing')
FINAL_SIGMAS_TYPES = ('zero', 'sigma_min')

OrderLike = Union[int, torch.Tensor]


@dataclass
class MultistepState:
    """The state of one solver trajectory (one clip, or one whole video).

    Attributes:
        step_index: index in ``timesteps`` of the next step (None before the first).
        outputs: converted model outputs x0_hat of the last steps, oldest first (at most
            ``solver_order``), each shaped as the sample.
        history: per element, how many of the newest ``outputs`` belong to its own
            trajectory (an int for all, or a long tensor broadcastable to the sample, e.g.
            (B, 1, F, 1, 1) after a per-frame restart).
        last_sample: the sample the last predictor started from (UniPC's corrector).
        last_order: the order of the last predictor, int or per element (UniPC's corrector).
    """
    step_index: Optional[int] = None
    outputs: List[torch.Tensor] = field(default_factory=list, repr=False)
    history: OrderLike = 0
    last_sample: Optional[torch.Tensor] = field(default=None, repr=False)
    last_order: OrderLike = 0


def register_solver(cls):
    """Register a solver class in ``DIFFUSION_SCHEDULERS`` under its name, and its
    :meth:`MultistepSolver.from_config_file` as ``Pretrained<Name>`` (``folder=`` plus
    overrides), as ``PretrainedDDIMScheduler`` does for DDIM."""
    DIFFUSION_SCHEDULERS.register_module(module=cls)
    DIFFUSION_SCHEDULERS.register_module(f'Pretrained{cls.__name__}', module=cls.from_config_file)
    return cls


def restart_mask(restart: Optional[torch.Tensor], sample: torch.Tensor
                 ) -> Optional[torch.Tensor]:
    """A bool mask broadcastable to ``sample``: (B, F) frames of a video sample
    (B, C, F, H, W) become (B, 1, F, 1, 1); None or an all-False mask give None."""
    if restart is None:
        return None
    mask = torch.as_tensor(restart, dtype=torch.bool, device=sample.device)
    if sample.ndim == 5 and mask.ndim == 2:
        if mask.shape[1] != sample.shape[2] or mask.shape[0] not in (1, sample.shape[0]):
            raise ValueError(f'restart mask {tuple(mask.shape)} for a video {tuple(sample.shape)}:'
                             f' give (B, F) = {(sample.shape[0], sample.shape[2])}')
        mask = mask[:, None, :, None, None]
    elif mask.ndim != sample.ndim:
        raise ValueError(f'restart mask {tuple(mask.shape)} is not broadcastable to the sample '
                         f'{tuple(sample.shape)}; give (B, F) for a video')
    return mask if bool(mask.any()) else None


def by_order(orders: OrderLike, update: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """``update(o)`` where every element has order o; per-element orders (a tensor, after a
    restart) take each element's own order's update."""
    if isinstance(orders, int):
        return update(orders)
    values = sorted({int(v) for v in orders.unique()})
    out = update(values[-1])
    for o in values[:-1]:
        out = torch.where(orders == o, update(o), out)
    return out


def min_order(a: OrderLike, b: OrderLike) -> OrderLike:
    """min of two orders, each an int or per element (a tensor)."""
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return torch.minimum(torch.as_tensor(a), torch.as_tensor(b))


class MultistepSolver(SamplingScheduler):
    """Base class of the multistep solvers: the DDIMScheduler API plus an explicit state.

    A subclass implements :meth:`_update` (one step from the converted output) and names the
    config keys it reads (``SOLVER_DEFAULTS``: diffusers' defaults of its own keys, for files
    that leave them out).

    API: ``set_timesteps(n)`` (starts a new trajectory), ``timesteps``, ``step(model_output,
    timestep, sample, restart=None)``, ``init_noise_sigma``, ``predict_x0``,
    ``predict_epsilon``, ``output_from_x0``, ``add_noise``, ``alphas_cumprod``,
    ``prediction_type``; ``state`` (:class:`MultistepState`) and ``reset_state()``.

    Timesteps are one int per call: every element of a sample follows the same grid (per-frame
    (B, F) timesteps, FIFO-Diffusion's queue, need :class:`DDIMScheduler`).

    Args:
        num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas,
            prediction_type: the training noise schedule (see :class:`DDPMNoiseSchedule`);
            the defaults are SD-2.1's, as :class:`DDIMScheduler`'s.
        solver_order: the multistep order (the newest ``solver_order`` outputs are used).
        timestep_spacing: ``'linspace'`` (diffusers' default for these solvers: n + 1 points
            evenly from 0 to T - 1 rounded, the last (0) dropped), ``'leading'``
            (k = T // (n + 1): n k, ..., k, plus ``steps_offset``) or ``'trailing'`` (T, T -
            T / n, ... rounded, minus 1).
        steps_offset: added to the timesteps of the ``'leading'`` spacing.
        final_sigmas_type: where the last step lands: ``'zero'`` (sigma 0: the last step
            returns x0_hat) or ``'sigma_min'`` (the noise level of t = 0).
        lower_order_final: first order at the last step (second order at the one before for
            a third-order solver) when there are fewer than 15 steps, for stability.
        clip_sample: clamp x0_hat to [-clip_sample_range, clip_sample_range] before it
            enters the history (as :class:`DDIMScheduler` does; diffusers' solvers have no such
            key, so a file's ``clip_sample`` is not read).
        set_alpha_to_one: DDIM's target of the step after the last; ignored here (the end is
            ``final_sigmas_type``), accepted so that a DDIM config switches by ``type``.
    """

    is_multistep = True  # keeps outputs of earlier steps; samplers reset / restart it
    #: the solver orders implemented
    SOLVER_ORDERS: Sequence[int] = (1, 2, 3)
    #: diffusers' defaults of the solver's own keys (files that omit them mean these)
    SOLVER_DEFAULTS: Dict[str, Any] = {}
    #: keys a diffusers config may hold that change the arithmetic: only this value is
    #: implemented
    FIXED_KEYS: Dict[str, Any] = dict(
        thresholding=False, rescale_betas_zero_snr=False, use_karras_sigmas=False,
        use_exponential_sigmas=False, use_beta_sigmas=False, use_lu_lambdas=False,
        use_flow_sigmas=False, use_dynamic_shifting=False, variance_type=None)
    #: DDIM keys a diffusers solver does not read from a file (we do not either)
    DDIM_ONLY_KEYS = ('clip_sample', 'clip_sample_range', 'set_alpha_to_one')

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                 beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
                 trained_betas: Optional[Sequence[float]] = None,
                 prediction_type: str = 'epsilon', solver_order: int = 2,
                 timestep_spacing: str = 'linspace', steps_offset: int = 0,
                 final_sigmas_type: str = 'zero', lower_order_final: bool = True,
                 clip_sample: bool = False, clip_sample_range: float = 1.0,
                 set_alpha_to_one: Optional[bool] = None):
        name = type(self).__name__
        self.noise_schedule = DDPMNoiseSchedule(
            num_train_timesteps=num_train_timesteps, beta_start=beta_start, beta_end=beta_end,
            beta_schedule=beta_schedule, prediction_type=prediction_type,
            trained_betas=trained_betas)
        self.num_train_timesteps = self.noise_schedule.num_train_timesteps
        if solver_order not in self.SOLVER_ORDERS:
            raise InvalidValueError(
                f'{name}: solver_order={solver_order!r} is not implemented; choose '
                f'one of {tuple(self.SOLVER_ORDERS)}')
        if timestep_spacing not in TIMESTEP_SPACINGS:
            raise InvalidValueError(f'{name}: timestep_spacing={timestep_spacing!r}; choose one of '
                                    f'{TIMESTEP_SPACINGS}')
        if final_sigmas_type not in FINAL_SIGMAS_TYPES:
            raise InvalidValueError(
                f'{name}: final_sigmas_type={final_sigmas_type!r}; choose one of '
                f'{FINAL_SIGMAS_TYPES}')
        self.solver_order = int(solver_order)
        self.timestep_spacing = timestep_spacing
        self.steps_offset = int(steps_offset)
        self.final_sigmas_type = final_sigmas_type
        self.lower_order_final = bool(lower_order_final)
        self.clip_sample = bool(clip_sample)
        self.clip_sample_range = float(clip_sample_range)
        self.num_inference_steps: Optional[int] = None
        self.timesteps: Optional[torch.Tensor] = None
        self._grid: List[tuple] = []  # (alpha, sigma, lambda) per grid point, the end last
        self.state = MultistepState()

    # --- reading a diffusers config -----------------------------------------------------------
    @classmethod
    def from_config_file(cls, folder: str, **overrides) -> 'MultistepSolver':
        """Build from a diffusers ``scheduler_config.json`` (or its folder), e.g. SD-2.1's
        ``scheduler/``, meaning what diffusers' solver of this name reads it to mean: keys the
        file leaves out take diffusers' defaults, DDIM-only keys (``clip_sample``,
        ``set_alpha_to_one``) are not read, and a value we do not implement is an error naming
        the file, the key and the value. ``overrides`` replace the file's values."""
        return cls(**cls._read_config(folder, overrides))

    @classmethod
    def _read_config(cls, path: str, overrides: Dict[str, Any]) -> Dict[str, Any]:
        accepted = set(inspect.signature(cls.__init__).parameters) - {'self'}
        return read_scheduler_config(
            path, accepted - set(cls.DDIM_ONLY_KEYS), cls.__name__, overrides,
            supported=cls.FIXED_KEYS, defaults=dict(DIFFUSERS_DEFAULTS, **cls.SOLVER_DEFAULTS))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_train_timesteps={self.num_train_timesteps}, '
                f'prediction_type={self.prediction_type!r}, solver_order={self.solver_order}, '
                f'timestep_spacing={self.timestep_spacing!r}, '
                f'final_sigmas_type={self.final_sigmas_type!r}, '
                f'num_inference_steps={self.num_inference_steps})')

    # --- the inference grid -------------------------------------------------------------------
    def _last_timestep(self) -> int:
        """One past the largest timestep the grid may use (T)."""
        return self.num_train_timesteps

    def set_timesteps(self, num_inference_steps: int,
                      device: Union[str, torch.device, None] = None) -> torch.Tensor:
        """Choose ``num_inference_steps`` timesteps (``timestep_spacing``) and start a new
        trajectory (:meth:`reset_state`); sets and returns ``self.timesteps`` (LongTensor
        (num_inference_steps,), descending)."""
        n = int(num_inference_steps)
        if not 1 <= n <= self.num_train_timesteps:
            raise ValueError(f'num_inference_steps must be in [1, {self.num_train_timesteps}], '
                             f'got {num_inference_steps}')
        last = self._last_timestep()
        if self.timestep_spacing == 'linspace':
            # numpy's linspace (i * step, the end exact) and round-half-even, as diffusers
            step = (last - 1) / n
            points = [i * step for i in range(n)] + [float(last - 1)]
            timesteps = [round(p) for p in points][::-1][:-1]
        elif self.timestep_spacing == 'leading':
            ratio = last // (n + 1)
            timesteps = [k * ratio + self.steps_offset for k in range(n, 0, -1)]
        else:  # trailing
            ratio = self.num_train_timesteps / n
            count = math.ceil(last / ratio)
            timesteps = [round(last - i * ratio) - 1 for i in range(count)]
        if len(timesteps) != n or len(set(timesteps)) != n or not (
                0 <= min(timesteps) and max(timesteps) < self.num_train_timesteps):
            raise InvalidValueError(
                f'{type(self).__name__}: {n} steps with timestep_spacing='
                f'{self.timestep_spacing!r} give the timesteps {timesteps}, not '
                f'{n} distinct ones in [0, {self.num_train_timesteps}); use fewer '
                'steps or another spacing')
        self.num_inference_steps = n
        self.timesteps = torch.tensor(timesteps, dtype=torch.long)
        if device is not None:
            self.timesteps = self.timesteps.to(device)
        table = self.alphas_cumprod.double()
        self._grid = [self._point(float(table[t])) for t in timesteps]
        end = 1.0 if self.final_sigmas_type == 'zero' else float(table[0])
        self._grid.append(self._point(end))
        self.reset_state()
        return self.timesteps

    @staticmethod
    def _point(alpha_bar: float) -> tuple:
        """(alpha_t, sigma_t, lambda_t) in float64; alpha_bar = 1 is the clean end (lambda
        infinite)."""
        alpha, sigma = math.sqrt(alpha_bar), math.sqrt(max(1.0 - alpha_bar, 0.0))
        lam = math.inf if sigma == 0 else math.log(alpha) - math.log(sigma)
        return alpha, sigma, lam

    def reset_state(self) -> None:
        """Start a new trajectory: forget the stored outputs (the next ``step`` is the first of
        the trajectory and takes its place on the grid from its timestep)."""
        self.state = MultistepState()

    def _data_prediction(self, model_output: torch.Tensor, sample: torch.Tensor, t: int
                         ) -> torch.Tensor:
        """x0_hat, clamped when ``clip_sample``: what the history stores."""
        x0 = self.predict_x0(model_output, sample, t)
        if self.clip_sample:
            x0 = x0.clamp(-self.clip_sample_range, self.clip_sample_range)
        return x0

    # --- one update ---------------------------------------------------------------------------
    def _start_step(self, model_output: torch.Tensor, timestep: Timesteps,
                    sample: torch.Tensor) -> int:
        """Check the call and return the step index i of ``timestep`` on the trajectory."""
        name = type(self).__name__
        if self.timesteps is None:
            raise RuntimeError(f'{name}: call set_timesteps(num_inference_steps) before step()')
        if isinstance(timestep, torch.Tensor) and timestep.numel() != 1:
            raise ValueError(
                f'{name}.step takes one timestep for the whole sample (its stored outputs follow '
                f'one trajectory on the grid), got a tensor of shape {tuple(timestep.shape)}; '
                'per-frame timesteps (FIFO-Diffusion) need DDIMScheduler')
        if not isinstance(timestep, (numbers.Integral, torch.Tensor)):
            raise TypeError(f'timestep must be an int, got {type(timestep).__name__}')
        if model_output.shape != sample.shape:
            raise ValueError(f'model_output {tuple(model_output.shape)} and sample '
                             f'{tuple(sample.shape)} differ in shape')
        t = int(timestep)
        grid = self.timesteps.tolist()
        i = self.state.step_index
        if i is None:
            if t not in grid:
                raise ValueError(f'{name}: timestep {t} is not on the grid {grid}')
            return grid.index(t)
        if i >= len(grid) or grid[i] != t:
            at = f'step {i} (timestep {grid[i]})' if i < len(grid) else 'its end'
            raise ValueError(f'{name}: step at timestep {t}, but the trajectory is at {at} of '
                             f'{len(grid)}; call reset_state() or set_timesteps() to start a '
                             'new trajectory')
        return i

    def _push(self, x0: torch.Tensor, restart: Optional[torch.Tensor]) -> OrderLike:
        """Store this step's x0_hat; returns the per-element history length including it
        (restarted elements: 1)."""
        state = self.state
        history = state.history
        if restart is not None:
            history = torch.where(restart, 0, torch.as_tensor(history, device=restart.device))
        state.outputs = (state.outputs + [x0])[-self.solver_order:]
        if isinstance(history, int):
            state.history = min(history + 1, self.solver_order)
        else:
            history = (history + 1).clamp(max=self.solver_order)
            uniform = bool((history == history.max()).all())
            state.history = int(history.max()) if uniform else history  # an int again
        return state.history

    def step(self, model_output: torch.Tensor, timestep: Timesteps, sample: torch.Tensor,
             restart: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One solver step x_{t_i} -> x_{t_{i+1}}; returns the new sample (shape of ``sample``).

        Args:
            model_output: the network output at (sample, timestep), shape of ``sample``.
            timestep: the current timestep t_i, an element of :attr:`timesteps`; steps must
                follow the grid in order (the first after a reset may start anywhere on it).
            sample: x_{t_i}, e.g. latents (B, C, F, H, W).
            restart: elements that start a new trajectory at this step (their sample was
                replaced since the last step): (B, F) frames of a video, or a bool tensor
                broadcastable to ``sample``. See the module docstring.
        """
        i = self._start_step(model_output, timestep, sample)
        mask = restart_mask(restart, sample)
        out = self._update(i, self._data_prediction(model_output, sample, int(timestep)),
                           sample, mask)
        self.state.step_index = i + 1
        return out

    def _update(self, i: int, x0: torch.Tensor, sample: torch.Tensor,
                restart: Optional[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    # --- shared arithmetic --------------------------------------------------------------------
    def _final_step_cap(self, i: int) -> int:
        """The highest order allowed at step i (lower orders at the end of the grid)."""
        return self.solver_order

    @staticmethod
    def _combine(terms: List[tuple]) -> torch.Tensor:
        """sum of coefficient * tensor, coefficients Python floats (float64 math)."""
        (c, x), rest = terms[0], terms[1:]
        out = x * c
        for c, x in rest:
            out = out + x * c
        return out
