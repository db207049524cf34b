# Reuse and Diffuse at the size of the embedded tiny model (configs/vidrd_tiny_shapes.py):
# N = 8 frames per clip, 20 DDIM steps and guidance 1.5 (the model's own settings). M = N / 2 as
# the paper; beta = 1 (frame 0 follows the previous clip for all steps, frame 3 for a quarter)
# and alpha = 1 (PNS correlation 0.71) gave the smallest boundary jumps with PNS still on
# (the paper's alpha = 4, beta = 0.4: 4.87 against 3.30, held-out prompts, 2 seeds), and the
# prompt frames, which replay the previous clip's end backwards, are dropped from the output:
#   python benchmarks/long_video_continuity.py configs/vidrd_tiny_shapes.py CKPT --seeds 0 1 \
#       --sweep M=1,2,4,6 beta=0.4,1 alpha=0,1,4 drop=1
# (docs/long_videos_on_the_demo.md). The other files of this folder inherit it and change one
# thing each, as in configs/ablations/.
_base_ = ['../vidrd_full.py']
past_dependent_noise_sampling = dict(type='PastDependentNoiseSampling', alpha=1.0)
staged_guidance_denoising = dict(type='StagedGuidanceDenoising', beta=1.0)

long_video_sampler = dict(
    num_frames=8,
    num_prompt_frames=4,
    num_inference_steps=20,
    guidance_scale=1.5,
    drop_prompt_frames=True,
    strategies=[{{_base_.frame_noise_reversion}}, past_dependent_noise_sampling,
                staged_guidance_denoising],
    progress=False)
