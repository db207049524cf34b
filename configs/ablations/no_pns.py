# Ablation: without Past-dependent Noise Sampling (frames j >= M start from fresh noise).
# Changes over vidrd_full.py: the strategies only (FNR + DSG); N, M, steps and guidance stay
# the model's.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.frame_noise_reversion}}, {{_base_.staged_guidance_denoising}}])
