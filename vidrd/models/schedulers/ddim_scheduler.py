"""DDIM sampling (Song et al. 2021) with the settings Stable Diffusion 2.1 ships with."""
import inspect
import numbers
from typing import Optional, Sequence, Union

import torch

from vidrd.registry import DIFFUSION_SCHEDULERS

from .ddpm_noise_schedule import DDPMNoiseSchedule, Timesteps
from .sampling_scheduler import SamplingScheduler
from .scheduler_config import read_scheduler_config
from vidrd.utils.errors import InvalidValueError


@DIFFUSION_SCHEDULERS.register_module()
class DDIMScheduler(SamplingScheduler):
    """Denoising diffusion implicit models: x_t -> x_{t-k} along the DDIM update (eq. 12).

    x_{t-k} = sqrt(alpha_bar_{t-k}) x0_hat
              + sqrt(1 - alpha_bar_{t-k} - sigma_t^2) eps_hat + sigma_t z,
    sigma_t = eta * sqrt((1 - alpha_bar_{t-k}) / (1 - alpha_bar_t))
                  * sqrt(1 - alpha_bar_t / alpha_bar_{t-k})                      (eq. 16),

    where x0_hat / eps_hat are read from the network output by the shared
    :class:`DDPMNoiseSchedule` (epsilon, v_prediction or sample). With eta = 0 (the default, and
    what VidRD uses) the update is deterministic and draws nothing.

    Timesteps use diffusers' "leading" spacing, as SD-2.1 and diffusers 0.14 do: with
    k = T // num_steps, ``timesteps = [(n-1)k, ..., k, 0] + steps_offset`` (SD-2.1: offset 1,
    so 50 steps give 981, 961, ..., 1). The step after the last one uses alpha_bar = 1 if
    ``set_alpha_to_one`` else alpha_bar_0 (SD-2.1: alpha_bar_0).

    Sample shapes are free (latents (B, C, F, H, W) of a video, or images); ``timestep`` is one
    int for the whole batch, or for a video a LongTensor (B, F) / (1, F) of grid timesteps, one
    per frame: each frame then takes its own update t_f -> t_f - k (FIFO-Diffusion's queue).

    Args:
        num_train_timesteps, beta_start, beta_end, beta_schedule, prediction_type,
            trained_betas: the training noise schedule (see :class:`DDPMNoiseSchedule`).
        steps_offset: added to every inference timestep.
        set_alpha_to_one: alpha_bar of the step after the last.
        clip_sample: clamp x0_hat to [-clip_sample_range, clip_sample_range].
        eta: default eta of :meth:`step` (0: deterministic DDIM; 1: DDPM-like ancestral noise).
    """


    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                 beta_end: float = 0.012, beta_schedule: str = 'scaled_linear',
                 prediction_type: str = 'epsilon', steps_offset: int = 1,
                 set_alpha_to_one: bool = False, clip_sample: bool = False,
                 clip_sample_range: float = 1.0, eta: float = 0.0,
                 trained_betas: Optional[Sequence[float]] = None):
        self.noise_schedule = DDPMNoiseSchedule(
            num_train_timesteps=num_train_timesteps, beta_start=beta_start, beta_end=beta_end,
            beta_schedule=beta_schedule, prediction_type=prediction_type,
            trained_betas=trained_betas)
        self.num_train_timesteps = self.noise_schedule.num_train_timesteps
        self.steps_offset = int(steps_offset)
        self.set_alpha_to_one = bool(set_alpha_to_one)
        self.clip_sample = bool(clip_sample)
        self.clip_sample_range = float(clip_sample_range)
        if eta < 0:
            raise InvalidValueError(f'eta must be >= 0, got {eta}')
        self.eta = float(eta)
        self.final_alpha_cumprod = (torch.tensor(1.0) if self.set_alpha_to_one
                                    else self.alphas_cumprod[0].clone())
        self.num_inference_steps: Optional[int] = None
        self.timesteps: Optional[torch.Tensor] = None

    @classmethod
    def from_config_file(cls, path: str, **overrides) -> 'DDIMScheduler':
        """Build from a diffusers ``scheduler_config.json`` (or its folder), e.g. SD-2.1's
        ``scheduler/``; ``overrides`` replace values of the file (``prediction_type=...``)."""
        accepted = list(inspect.signature(cls.__init__).parameters)[1:]
        return cls(**read_scheduler_config(path, accepted, cls.__name__, overrides))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_train_timesteps={self.num_train_timesteps}, '
                f'prediction_type={self.prediction_type!r}, steps_offset={self.steps_offset}, '
                f'set_alpha_to_one={self.set_alpha_to_one}, eta={self.eta}, '
                f'num_inference_steps={self.num_inference_steps})')

    # --- the inference grid -------------------------------------------------------------------
    def set_timesteps(self, num_inference_steps: int,
                      device: Union[str, torch.device, None] = None) -> torch.Tensor:
        """Choose ``num_inference_steps`` timesteps; sets and returns ``self.timesteps``
        (LongTensor (num_inference_steps,), descending)."""
        n = int(num_inference_steps)
        if not 1 <= n <= self.num_train_timesteps:
            raise ValueError(f'num_inference_steps must be in [1, {self.num_train_timesteps}], '
                             f'got {num_inference_steps}')
        step_ratio = self.num_train_timesteps // n
        timesteps = torch.arange(n - 1, -1, -1, dtype=torch.long) * step_ratio + self.steps_offset
        if int(timesteps[0]) >= self.num_train_timesteps:
            raise InvalidValueError(
                f'{n} steps with steps_offset={self.steps_offset} reach timestep '
                f'{int(timesteps[0])} >= num_train_timesteps={self.num_train_timesteps}; '
                'use fewer steps or a smaller steps_offset')
        self.num_inference_steps = n
        self.timesteps = timesteps.to(device) if device is not None else timesteps
        return self.timesteps

    def previous_timestep(self, timestep: Timesteps) -> int:
        """The timestep the DDIM update from ``timestep`` lands on (negative after the last)."""
        self._require_timesteps()
        return int(timestep) - self.num_train_timesteps // self.num_inference_steps

    # --- one update ---------------------------------------------------------------------------
    def step(self, model_output: torch.Tensor, timestep: Timesteps, sample: torch.Tensor,
             eta: Optional[float] = None, generator: Optional[torch.Generator] = None,
             variance_noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One DDIM update x_t -> x_{t-k}; returns ``prev_sample`` (shape of ``sample``).

        Args:
            model_output: the network output at (sample, timestep), shape of ``sample``.
            timestep: the current timestep t (an element of :attr:`timesteps`), or one per
                frame of a video sample, (B, F) or (1, F).
            eta: overrides the scheduler's eta for this step.
            generator: draws z when eta > 0 (on the generator's device, then moved).
            variance_noise: z itself, instead of drawing it.
        """
        self._require_timesteps()
        per_frame = isinstance(timestep, torch.Tensor) and timestep.ndim == 2
        if isinstance(timestep, torch.Tensor) and timestep.numel() != 1 and not per_frame:
            raise ValueError('DDIMScheduler.step takes one timestep for the whole batch or one '
                             'per frame (B, F), got a tensor of shape '
                             f'{tuple(timestep.shape)}')
        if not isinstance(timestep, (numbers.Integral, torch.Tensor)):
            raise TypeError(f'timestep must be an int, got {type(timestep).__name__}')
        if model_output.shape != sample.shape:
            raise ValueError(f'model_output {tuple(model_output.shape)} and sample '
                             f'{tuple(sample.shape)} differ in shape')
        eta = self.eta if eta is None else float(eta)
        if per_frame:
            t = timestep.to(device=sample.device, dtype=torch.long)
            prev_t = t - self.num_train_timesteps // self.num_inference_steps
            alpha_t = self.noise_schedule.alpha_bar(t, sample)
            alpha_prev = torch.where(
                (prev_t >= 0)[:, None, :, None, None],
                self.noise_schedule.alpha_bar(prev_t.clamp(min=0), sample),
                self.final_alpha_cumprod.to(sample.device))
        else:
            t = int(timestep)
            prev_t = self.previous_timestep(t)
            alpha_t = self.noise_schedule.alpha_bar(t, sample)
            alpha_prev = (self.noise_schedule.alpha_bar(prev_t, sample) if prev_t >= 0
                          else self.final_alpha_cumprod.to(sample.device))

        x0 = self.predict_x0(model_output, sample, t)
        eps = self.predict_epsilon(model_output, sample, t)
        if self.clip_sample:
            # eps_hat stays the network's (diffusers' default, use_clipped_model_output=False)
            x0 = x0.clamp(-self.clip_sample_range, self.clip_sample_range)

        # eq. 16
        variance = ((1 - alpha_prev) / (1 - alpha_t)) * (1 - alpha_t / alpha_prev)
        std = eta * variance ** 0.5
        direction = (1 - alpha_prev - std ** 2) ** 0.5 * eps
        prev_sample = alpha_prev ** 0.5 * x0 + direction
        if eta > 0:
            if variance_noise is None:
                draw_device = generator.device if generator is not None else sample.device
                variance_noise = torch.randn(model_output.shape, generator=generator,
                                             device=draw_device, dtype=model_output.dtype)
            elif generator is not None:
                raise ValueError('pass either generator or variance_noise, not both')
            prev_sample = prev_sample + std * variance_noise.to(sample.device)
        return prev_sample

    def _require_timesteps(self) -> None:
        if self.num_inference_steps is None:
            raise RuntimeError('call set_timesteps(num_inference_steps) before stepping the '
                               'DDIMScheduler')
