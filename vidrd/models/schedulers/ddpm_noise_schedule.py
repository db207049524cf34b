"""The DDPM forward process used for training: noising, regression targets, and their inverses."""
import inspect
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import torch

from vidrd.registry import DIFFUSION_SCHEDULERS

from .beta_schedules import make_alphas_cumprod
from .scheduler_config import read_scheduler_config
from vidrd.utils.errors import InvalidValueError

PREDICTION_TYPES = ('epsilon', 'v_prediction', 'sample')

Timesteps = Union[int, torch.Tensor]


@DIFFUSION_SCHEDULERS.register_module()
class DDPMNoiseSchedule:
    """Forward diffusion q(x_t | x_0) of DDPM and what the denoiser is trained to predict.

    x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps   (Ho et al. 2020, eq. 4).

    The network output is read according to ``prediction_type``:

    - ``'epsilon'``: the noise eps (Ho et al. 2020, eq. 14; SD-2.1-base);
    - ``'v_prediction'``: v = sqrt(alpha_bar_t) * eps - sqrt(1 - alpha_bar_t) * x_0
      (Salimans & Ho 2022, sec. 4; SD-2.1-768);
    - ``'sample'``: x_0 itself.

    Tensors may have any rank: latents of videos (B, C, F, H, W), images (B, C, H, W); ``t`` is
    a LongTensor (B,) (one timestep per sample; (1,) broadcasts), an int, or for videos a
    LongTensor (B, F) (one timestep per frame, e.g. Diffusion Forcing's training or
    FIFO-Diffusion's queue; (1, F) broadcasts over the batch). The noise-level
    table is float32 (as diffusers keeps it, so values equal its schedulers bit for bit); results
    have the dtype of the data.

    Args:
        num_train_timesteps: T.
        beta_start, beta_end, beta_schedule, trained_betas: see
            :func:`~vidrd.models.schedulers.beta_schedules.make_betas`. The defaults are SD-2.1's.
        prediction_type: ``'epsilon'``, ``'v_prediction'`` or ``'sample'``.
        timestep_bias: training timesteps are uniform by default (the paper, SD-2.1); with
            ``dict(begin=b, end=e, multiplier=m)`` each t in [b, e) is drawn m times as often
            as the others (diffusers' SDXL training script calls this a timestep bias).
            Biasing towards high noise (large t) trains what only pure-ish noise decides,
            such as the layout and motion a caption names.
    """

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                 beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
                 prediction_type: str = 'epsilon',
                 trained_betas: Optional[Sequence[float]] = None,
                 timestep_bias: Optional[Dict[str, float]] = None):
        if prediction_type not in PREDICTION_TYPES:
            raise InvalidValueError(f'unknown prediction_type {prediction_type!r}; '
                                    f'choose one of {PREDICTION_TYPES}')
        self.num_train_timesteps = int(num_train_timesteps)
        self.beta_schedule = beta_schedule
        self.prediction_type = prediction_type
        self.betas, self.alphas_cumprod = make_alphas_cumprod(
            self.num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas)
        self._tables: Dict[torch.device, torch.Tensor] = {}
        self.timestep_weights = self._timestep_weights(timestep_bias)

    def _timestep_weights(self, bias: Optional[Dict[str, float]]) -> Optional[torch.Tensor]:
        """Unnormalised sampling weight of each of the T timesteps, or None (uniform)."""
        if not bias:
            return None
        unknown = set(bias) - {'begin', 'end', 'multiplier'}
        if unknown or 'multiplier' not in bias:
            raise InvalidValueError(
                f'timestep_bias takes begin, end and multiplier, got {dict(bias)}')
        begin = int(bias.get('begin', 0))
        end = int(bias.get('end', self.num_train_timesteps))
        multiplier = float(bias['multiplier'])
        if not (0 <= begin < end <= self.num_train_timesteps) or multiplier <= 0:
            raise ValueError(f'timestep_bias needs 0 <= begin < end <= {self.num_train_timesteps} '
                             f'and multiplier > 0, got {dict(bias)}')
        weights = torch.ones(self.num_train_timesteps, dtype=torch.float64)
        weights[begin:end] = multiplier
        return weights

    @classmethod
    def from_config_file(cls, path: str, **overrides) -> 'DDPMNoiseSchedule':
        """Build from a diffusers ``scheduler_config.json`` (or its folder).

        Keys only a sampler uses (``steps_offset``, ``set_alpha_to_one``, ...) are ignored;
        ``overrides`` replace values of the file, e.g. ``prediction_type='v_prediction'``.
        """
        accepted = list(inspect.signature(cls.__init__).parameters)[1:]
        return cls(**read_scheduler_config(path, accepted, cls.__name__, overrides))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_train_timesteps={self.num_train_timesteps}, '
                f'beta_schedule={self.beta_schedule!r}, prediction_type={self.prediction_type!r})')

    # --- noise levels -------------------------------------------------------------------------
    def _alphas_cumprod_on(self, device: torch.device) -> torch.Tensor:
        if device not in self._tables:  # keep a copy per device: no host-device copy per step
            self._tables[device] = self.alphas_cumprod.to(device)
        return self._tables[device]

    def alpha_bar(self, t: Timesteps, like: torch.Tensor) -> torch.Tensor:
        """alpha_bar_t, float32, broadcastable against ``like`` (B, ...): 0-d for an int ``t``,
        (B, 1, ..., 1) for a (B,) ``t``, (B, 1, F, 1, 1) for a per-frame (B, F) ``t`` and a
        video ``like`` (B, C, F, H, W)."""
        table = self._alphas_cumprod_on(like.device)
        if isinstance(t, numbers.Integral) or (torch.is_tensor(t) and t.ndim == 0):
            step = int(t)
            if not 0 <= step < self.num_train_timesteps:
                raise ValueError(f'timestep {step} outside [0, {self.num_train_timesteps})')
            return table[step]
        if not torch.is_tensor(t) or t.ndim not in (1, 2):
            raise ValueError(f'timesteps must be an int, a 1-D tensor (B,) or per frame (B, F), '
                             f'got {tuple(t.shape) if torch.is_tensor(t) else type(t).__name__}')
        if t.dtype.is_floating_point:
            raise TypeError(f'timesteps must be integers (LongTensor), got {t.dtype}')
        if t.ndim == 2:
            return self._per_frame_alpha_bar(table, t, like)
        if like.ndim == 0 or t.shape[0] not in (1, like.shape[0]):
            raise ValueError(f'{t.shape[0]} timesteps for a batch of shape {tuple(like.shape)}; '
                             'give one timestep per sample (B,)')
        values = table[t.to(like.device)]
        return values.reshape(values.shape + (1,) * (like.ndim - 1))

    def _per_frame_alpha_bar(self, table: torch.Tensor, t: torch.Tensor, like: torch.Tensor
                             ) -> torch.Tensor:
        if like.ndim != 5 or t.shape[1] != like.shape[2] or t.shape[0] not in (1, like.shape[0]):
            raise ValueError(f'per-frame timesteps {tuple(t.shape)} need a video (B, C, F, H, W) '
                             f'with F = {t.shape[1]} and B = {t.shape[0]} (or B for (1, F)), '
                             f'got {tuple(like.shape)}')
        if bool(((t < 0) | (t >= self.num_train_timesteps)).any()):
            raise ValueError(f'per-frame timesteps outside [0, {self.num_train_timesteps}): '
                             f'{t.tolist()}')
        return table[t.to(like.device)][:, None, :, None, None]

    def signal_and_noise_scales(self, t: Timesteps, like: torch.Tensor
                                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t)), broadcastable against ``like``, in its
        dtype."""
        alpha_bar = self.alpha_bar(t, like)
        # `** 0.5` and `1 - a` in float32 first, as diffusers does, then the data's dtype
        return (alpha_bar ** 0.5).to(like.dtype), ((1 - alpha_bar) ** 0.5).to(like.dtype)

    # --- training ---------------------------------------------------------------------------
    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: Timesteps) -> torch.Tensor:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (eq. 4). Shapes (B, ...)."""
        if x0.shape != noise.shape:
            raise ValueError(f'x0 {tuple(x0.shape)} and noise {tuple(noise.shape)} differ in shape')
        signal, sigma = self.signal_and_noise_scales(t, x0)
        return signal * x0 + sigma * noise

    def velocity(self, x0: torch.Tensor, noise: torch.Tensor, t: Timesteps) -> torch.Tensor:
        """v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0 (Salimans & Ho 2022)."""
        signal, sigma = self.signal_and_noise_scales(t, x0)
        return signal * noise - sigma * x0

    def training_target(self, x0: torch.Tensor, noise: torch.Tensor, t: Timesteps
                        ) -> torch.Tensor:
        """What the network should output for x_t = add_noise(x0, noise, t): eps, v or x_0."""
        if self.prediction_type == 'epsilon':
            return noise
        if self.prediction_type == 'v_prediction':
            return self.velocity(x0, noise, t)
        return x0

    def sample_timesteps(self, n: int, device: Union[str, torch.device, None] = None,
                         generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n timesteps drawn from {0, ..., T-1}, uniformly or by ``timestep_bias``,
        LongTensor (n,) on ``device``.

        Drawn on the generator's device (so a CPU generator gives the same draws for any
        ``device``), then moved.
        """
        draw_device = generator.device if generator is not None else (device or 'cpu')
        if self.timestep_weights is None:
            t = torch.randint(0, self.num_train_timesteps, (n,), generator=generator,
                              device=draw_device)
        else:
            t = torch.multinomial(self.timestep_weights.to(draw_device), n, replacement=True,
                                  generator=generator)
        return t.to(device) if device is not None else t

    # --- inverting the forward process --------------------------------------------------------
    def predict_x0(self, model_output: torch.Tensor, x_t: torch.Tensor, t: Timesteps
                   ) -> torch.Tensor:
        """x_0 implied by the network output at x_t (DDIM eq. 12's "predicted x_0")."""
        if self.prediction_type == 'epsilon':
            signal, sigma = self.signal_and_noise_scales(t, x_t)
            return (x_t - sigma * model_output) / signal
        if self.prediction_type == 'v_prediction':
            signal, sigma = self.signal_and_noise_scales(t, x_t)
            return signal * x_t - sigma * model_output
        return model_output

    def predict_epsilon(self, model_output: torch.Tensor, x_t: torch.Tensor, t: Timesteps
                        ) -> torch.Tensor:
        """The noise eps implied by the network output at x_t."""
        if self.prediction_type == 'epsilon':
            return model_output
        signal, sigma = self.signal_and_noise_scales(t, x_t)
        if self.prediction_type == 'v_prediction':
            return signal * model_output + sigma * x_t
        return (x_t - signal * model_output) / sigma

    def output_from_x0(self, x0: torch.Tensor, x_t: torch.Tensor, t: Timesteps) -> torch.Tensor:
        """The network output that implies ``x0`` at x_t (the inverse of :meth:`predict_x0`):
        eps = (x_t - sqrt(a) x0) / sqrt(1 - a), v = sqrt(a) eps - sqrt(1 - a) x0, or x0.
        Lets a sampler edit the predicted clean sample (reconstruction guidance) and hand the
        result to any scheduler that reads this schedule's prediction type."""
        if self.prediction_type == 'sample':
            return x0
        signal, sigma = self.signal_and_noise_scales(t, x_t)
        eps = (x_t - signal * x0) / sigma
        if self.prediction_type == 'epsilon':
            return eps
        return signal * eps - sigma * x0
