# Ablation: without Past-dependent Noise Sampling (frames j >= M start from fresh noise).
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.frame_noise_reversion}}, {{_base_.staged_guidance_denoising}}])
