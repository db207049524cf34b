# Ablation: without Frame-level Noise Reversion.
# Changes over vidrd_full.py: the strategies only (PNS + DSG); N, M, steps and guidance stay
# the model's.
# Note: with DSG on (beta > 0) every prompt frame is replaced before step 0 by exactly the noise
# FNR would have given it, so this differs from the full method only through the initial noise
# that PNS carries on to the clip after next.
_base_ = ['./vidrd_full.py']
long_video_sampler = dict(strategies=[
    {{_base_.past_dependent_noise_sampling}}, {{_base_.staged_guidance_denoising}}])
