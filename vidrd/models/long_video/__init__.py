"""Long videos: the Reuse-and-Diffuse sampler and its strategies (DESIGN.md section 3)."""
from .base_strategy import LongVideoContext, LongVideoStrategy
from .frame_noise_reversion import FrameNoiseReversion
from .independent_clips import IndependentClips
from .mixed_noise_prior import MixedNoisePrior
from .past_dependent_noise_sampling import PastDependentNoiseSampling
from .progressive_noise_prior import ProgressiveNoisePrior
from .prompt_encoding import encode_prompts, encode_storyline
from .reuse_and_diffuse_sampler import GeneratedClip, LongVideoOutput, ReuseAndDiffuseSampler
from .shared_noise import SharedNoise
from .staged_guidance_denoising import StagedGuidanceDenoising

__all__ = [
    'LongVideoContext', 'LongVideoStrategy', 'FrameNoiseReversion', 'PastDependentNoiseSampling',
    'StagedGuidanceDenoising', 'IndependentClips', 'SharedNoise', 'MixedNoisePrior',
    'ProgressiveNoisePrior', 'ReuseAndDiffuseSampler', 'GeneratedClip', 'LongVideoOutput',
    'encode_prompts', 'encode_storyline'
]
