# Reconstruction guidance (Ho et al. 2022, Video Diffusion Models, Sec. 3.1), clip after clip:
# the first M frames of every clip after the first re-noise the previous clip's last M final
# latents (in playing order) at every step, and the new frames follow the gradient of the
# prompt frames' reconstruction error. A sampler config: use it with
#   python tools/generate.py MODEL_CONFIG CHECKPOINT --num-clips 4 \
#       --sampler-config configs/long_video/reconstruction_guidance.py
# Ho et al. condition on half the clip and find weights w_r > 1 better than 1; the prompt
# frames are dropped from the output, which then shows every frame once. Do not add FNR / PNS /
# DSG: they mirror the previous clip (frame j <- N - 1 - j), which shows it backwards.
long_video_sampler = dict(
    type='ReuseAndDiffuseSampler',
    num_frames=16,
    num_prompt_frames=8,
    num_inference_steps=50,
    guidance_scale=7.5,
    seed_compatible=True,
    drop_prompt_frames=True,
    autocast_dtype=None,
    strategies=[dict(type='ReconstructionGuidance', weight=2.0, max_correction_rms=0.1)])
