# Ablation at the tiny model's size: without Denoising with Staged Guidance.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.frame_noise_reversion}}, {{_base_.past_dependent_noise_sampling}}])
