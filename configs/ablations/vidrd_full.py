# Reuse and Diffuse (VidRD Sec. 3.3): long videos clip after clip with Frame-level Noise
# Reversion, Past-dependent Noise Sampling and Denoising with Staged Guidance.
# A sampler config: merge it into a model config with
#   python tools/generate.py MODEL_CONFIG CHECKPOINT \
#       --sampler-config configs/ablations/vidrd_full.py
# Its keys replace the model's `model.long_video_sampler` entries (lists, such as the
# strategies, are replaced whole); the other configs of this folder inherit it and change one
# thing each.
# alpha / beta / M = N / 2 are the settings of the original code's default case in the
# reference fixtures (fixtures/vidrd_reference, case "default").
frame_noise_reversion = dict(type='FrameNoiseReversion')
past_dependent_noise_sampling = dict(type='PastDependentNoiseSampling', alpha=4.0)
staged_guidance_denoising = dict(type='StagedGuidanceDenoising', beta=0.4)

long_video_sampler = dict(
    type='ReuseAndDiffuseSampler',
    num_frames=16,          # N frames per clip
    num_prompt_frames=8,    # M frames of each clip tied to the previous one
    num_inference_steps=50,
    guidance_scale=7.5,
    seed_compatible=True,   # same seed -> the original release's video
    drop_prompt_frames=False,
    autocast_dtype=None,    # 'bf16': the U-Net in bf16 (tools' --amp; GPUs, CPUs with AMX)
    strategies=[frame_noise_reversion, past_dependent_noise_sampling, staged_guidance_denoising])
