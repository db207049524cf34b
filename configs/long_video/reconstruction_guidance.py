# Reconstruction guidance (Ho et al. 2022, Video Diffusion Models, Sec. 3.1), clip after clip:
# the first M frames of every clip after the first re-noise the previous clip's last M final
# latents (in playing order) at every step, and the new frames follow the gradient of the
# prompt frames' reconstruction error. A sampler config: use it with
#   python tools/generate.py MODEL_CONFIG [CHECKPOINT] --num-clips 4 \
#       --sampler-config configs/long_video/reconstruction_guidance.py
# It keeps the model's N (num_frames), DDIM steps and guidance. Ho et al. condition on half the
# clip: M = 8 is half of the SD-2.1 configs' 16 frames (set num_prompt_frames to N / 2 for
# another model, e.g. 12 for configs/zeroscope_v2.py); they find weights w_r > 1 better than 1.
# The prompt frames are dropped from the output, which then shows every frame once. Do not add
# FNR / PNS / DSG: they mirror the previous clip (frame j <- N - 1 - j), which shows it
# backwards.
long_video_sampler = dict(
    type='ReuseAndDiffuseSampler',
    num_prompt_frames=8,
    seed_compatible=True,
    drop_prompt_frames=True,
    autocast_dtype=None,
    strategies=[dict(type='ReconstructionGuidance', weight=2.0, max_correction_rms=0.1)])
