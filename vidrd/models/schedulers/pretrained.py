"""Schedules read from a diffusers pipeline's ``scheduler/`` folder, for configs."""
from vidrd.registry import DIFFUSION_SCHEDULERS

from .ddim_scheduler import DDIMScheduler
from .ddpm_noise_schedule import DDPMNoiseSchedule


@DIFFUSION_SCHEDULERS.register_module('PretrainedDDIMScheduler')
def build_pretrained_ddim(folder: str, **overrides) -> DDIMScheduler:
    """The DDIM sampler of ``folder`` (``scheduler/`` or its ``scheduler_config.json``);
    ``overrides`` replace the file's values."""
    return DDIMScheduler.from_config_file(folder, **overrides)


@DIFFUSION_SCHEDULERS.register_module('PretrainedDDPMNoiseSchedule')
def build_pretrained_ddpm(folder: str, **overrides) -> DDPMNoiseSchedule:
    """The training schedule (betas, prediction type) of the same file; sampler-only keys
    (``steps_offset``, ...) are ignored."""
    return DDPMNoiseSchedule.from_config_file(folder, **overrides)
