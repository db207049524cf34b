# Reuse and Diffuse (VidRD Sec. 3.3): long videos clip after clip with Frame-level Noise
# Reversion, Past-dependent Noise Sampling and Denoising with Staged Guidance.
# A sampler config, laid over a model config's sampler:
#   python tools/generate.py MODEL_CONFIG [CHECKPOINT] --num-clips 4 \
#       --sampler-config configs/ablations/vidrd_full.py
# What it changes: the sampler (ReuseAndDiffuseSampler), its strategies and their parameters.
# What it keeps: the model's N (num_frames), M (num_prompt_frames), DDIM steps and guidance
# (e.g. configs/zeroscope_v2.py: 24 frames, 12 prompt frames, guidance 9), and --amp's
# autocast; name any of them here, or with --cfg-options, to change them. The other configs of
# this folder inherit this one and change one thing each.
# alpha = 4 and beta = 0.4 are the settings of the original implementation's default
# long-video case (the case tests/models/long_video/test_parity_with_original.py reproduces).
frame_noise_reversion = dict(type='FrameNoiseReversion')
past_dependent_noise_sampling = dict(type='PastDependentNoiseSampling', alpha=4.0)
staged_guidance_denoising = dict(type='StagedGuidanceDenoising', beta=0.4)

long_video_sampler = dict(
    type='ReuseAndDiffuseSampler',
    seed_compatible=True,   # same seed -> the original release's video
    drop_prompt_frames=False,
    strategies=[frame_noise_reversion, past_dependent_noise_sampling, staged_guidance_denoising])
