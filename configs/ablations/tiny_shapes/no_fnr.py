# Ablation at the tiny model's size: without Frame-level Noise Reversion.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.past_dependent_noise_sampling}}, {{_base_.staged_guidance_denoising}}])
