# Ablation at the tiny model's size: without Past-dependent Noise Sampling.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.frame_noise_reversion}}, {{_base_.staged_guidance_denoising}}])
