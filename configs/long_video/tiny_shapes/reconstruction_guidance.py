# Reconstruction guidance at the size of the embedded tiny model (configs/vidrd_tiny_shapes.py):
# N = 8, M = 4 prompt frames, its 20 DDIM steps and guidance 1.5. The weight is smaller than
# Ho et al.'s: on this model w_r = 2 made the new frames stall (3 repeated clips in 16 six-clip
# videos) while w_r = 0.5 with the correction clipped at 0.05 RMS kept every clip moving (seed
# 0: boundary ratio 0.92, largest step 1.8x the median, against 0.95 / 2.3x for w_r = 0, plain
# replacement from the final latents). See configs/long_video/reconstruction_guidance.py.
_base_ = ['../reconstruction_guidance.py']
long_video_sampler = dict(
    num_frames=8, num_prompt_frames=4, num_inference_steps=20, guidance_scale=1.5,
    progress=False,
    strategies=[dict(type='ReconstructionGuidance', weight=0.5, max_correction_rms=0.05)])
