"""What every sampling scheduler (DDIM, the multistep solvers) reads from its noise schedule."""
import torch

from .ddpm_noise_schedule import DDPMNoiseSchedule, Timesteps


class SamplingScheduler:
    """Base of vidrd's sampling schedulers: the network output is read, and data is noised,
    through ``self.noise_schedule`` (a :class:`DDPMNoiseSchedule` the subclass builds), so
    every scheduler reads epsilon / v / sample predictions, and per-frame (B, F) timesteps,
    the same way. Subclasses add ``set_timesteps``, ``timesteps`` and ``step``."""

    init_noise_sigma = 1.0  # x_T ~ N(0, I): no scaling of the initial noise
    order = 1  # network evaluations per step (diffusers' meaning of `order`)
    noise_schedule: DDPMNoiseSchedule

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """alpha_bar_t for t = 0..T-1, (T,) float32 on the CPU."""
        return self.noise_schedule.alphas_cumprod

    @property
    def prediction_type(self) -> str:
        return self.noise_schedule.prediction_type

    def scale_model_input(self, sample: torch.Tensor, timestep: Timesteps = None
                          ) -> torch.Tensor:
        """Identity: the network takes x_t unscaled (kept for diffusers-style loops)."""
        return sample

    def predict_x0(self, model_output: torch.Tensor, sample: torch.Tensor,
                   timestep: Timesteps) -> torch.Tensor:
        """x0_hat at ``sample`` = x_t (unclipped); ``timestep`` an int, a (B,) or a (B, F)
        tensor."""
        return self.noise_schedule.predict_x0(model_output, sample, timestep)

    def predict_epsilon(self, model_output: torch.Tensor, sample: torch.Tensor,
                        timestep: Timesteps) -> torch.Tensor:
        """eps_hat at ``sample`` = x_t; ``timestep`` an int, a (B,) or a (B, F) tensor."""
        return self.noise_schedule.predict_epsilon(model_output, sample, timestep)

    def output_from_x0(self, x0: torch.Tensor, sample: torch.Tensor,
                       timestep: Timesteps) -> torch.Tensor:
        """The network output whose x0_hat at ``sample`` is ``x0`` (inverse of
        :meth:`predict_x0`)."""
        return self.noise_schedule.output_from_x0(x0, sample, timestep)

    def noise_schedule_config(self) -> dict:
        """The keys that make another sampling scheduler solve over this one's noise schedule
        (a sampler's own ``scheduler``): the training betas and their count, the prediction
        type and the clipping of x0_hat.

        Returns:
            dict: ``num_train_timesteps``, ``trained_betas`` (a list), ``prediction_type``,
            ``clip_sample``, ``clip_sample_range``.
        """
        schedule = self.noise_schedule
        return dict(num_train_timesteps=schedule.num_train_timesteps,
                    trained_betas=schedule.betas.tolist(),
                    prediction_type=schedule.prediction_type,
                    clip_sample=getattr(self, 'clip_sample', False),
                    clip_sample_range=getattr(self, 'clip_sample_range', 1.0))

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: Timesteps) -> torch.Tensor:
        """The forward process q(x_t | x_0), e.g. to start sampling from a noised video."""
        return self.noise_schedule.add_noise(x0, noise, t)
