# Ablation: without Denoising with Staged Guidance.
# Changes over vidrd_full.py: the strategies only (FNR + PNS); N, M, steps and guidance stay
# the model's.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.frame_noise_reversion}}, {{_base_.past_dependent_noise_sampling}}])
