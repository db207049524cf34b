"""Long videos: the Reuse-and-Diffuse sampler and its strategies (VidRD Sec. 3.3), and the
long-video methods that came after the paper (temporal co-denoising, FIFO-Diffusion,
reconstruction guidance), all behind one sampler interface."""
from .base_sampler import (GeneratedClip, LongVideoOutput, LongVideoSampler, VideoLayout)
from .base_strategy import LongVideoContext, LongVideoStrategy
from .fifo_diffusion import FIFODiffusionSampler
from .frame_noise_reversion import FrameNoiseReversion
from .independent_clips import IndependentClips
from .mixed_noise_prior import MixedNoisePrior
from .past_dependent_noise_sampling import PastDependentNoiseSampling
from .progressive_noise_prior import ProgressiveNoisePrior
from .prompt_encoding import encode_prompts, encode_storyline
from .reconstruction_guidance import ReconstructionGuidance
from .reuse_and_diffuse_sampler import DenoiserCall, ReuseAndDiffuseSampler
from .shared_noise import SharedNoise
from .staged_guidance_denoising import StagedGuidanceDenoising
from .temporal_co_denoising import TemporalCoDenoisingSampler

__all__ = [
    'LongVideoContext', 'LongVideoStrategy', 'FrameNoiseReversion', 'PastDependentNoiseSampling',
    'StagedGuidanceDenoising', 'IndependentClips', 'SharedNoise', 'MixedNoisePrior',
    'ProgressiveNoisePrior', 'ReconstructionGuidance', 'LongVideoSampler',
    'ReuseAndDiffuseSampler', 'TemporalCoDenoisingSampler', 'FIFODiffusionSampler',
    'DenoiserCall', 'GeneratedClip', 'LongVideoOutput', 'VideoLayout', 'encode_prompts',
    'encode_storyline'
]
