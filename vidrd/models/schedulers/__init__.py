"""Noise schedules for training (DDPM) and samplers (DDIM, DPM-Solver++, UniPC), registered in
DIFFUSION_SCHEDULERS."""
from .beta_schedules import BETA_SCHEDULES, make_alphas_cumprod, make_betas
from .ddim_scheduler import DDIMScheduler
from .ddpm_noise_schedule import PREDICTION_TYPES, DDPMNoiseSchedule
from .dpm_solver_multistep import DPMSolverMultistepScheduler
from .multistep_solver import MultistepSolver, MultistepState
from .pretrained import build_pretrained_ddim, build_pretrained_ddpm
from .sampling_scheduler import SamplingScheduler
from .scheduler_config import read_scheduler_config
from .unipc_multistep import UniPCMultistepScheduler

__all__ = ['DDIMScheduler', 'DDPMNoiseSchedule', 'BETA_SCHEDULES', 'PREDICTION_TYPES',
           'make_betas', 'make_alphas_cumprod', 'read_scheduler_config', 'build_pretrained_ddim',
           'build_pretrained_ddpm', 'DPMSolverMultistepScheduler', 'UniPCMultistepScheduler',
           'MultistepSolver', 'MultistepState', 'SamplingScheduler']
