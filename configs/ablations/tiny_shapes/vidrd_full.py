# Reuse and Diffuse at the size of the embedded tiny model (configs/vidrd_tiny_shapes.py):
# N = 8 frames per clip and guidance 1.5 (the model's own settings). M = N / 2 as
# the paper; beta = 1 (frame 0 follows the previous clip for all steps, frame 3 for a quarter)
# and alpha = 1 (PNS correlation 0.71) gave the smallest boundary jumps with PNS still on
# (the paper's alpha = 4, beta = 0.4: 4.87 against 3.30, held-out prompts, 2 seeds), and the
# prompt frames, which replay the previous clip's end backwards, are dropped from the output:
#   python benchmarks/long_video_continuity.py configs/vidrd_tiny_shapes.py CKPT --seeds 0 1 \
#       --sweep M=1,2,4,6 beta=0.4,1 alpha=0,1,4 drop=1
# (docs/long_videos_on_the_demo.md). The other files of this folder inherit it and change one
# thing each, as in configs/ablations/.
# Solver: DPM-Solver++ 2M, 10 steps, step caching every 2nd step (branch 2), over the model's
# DDIM noise schedule (the model keeps DDIM for FIFO-Diffusion): against DDIM 20, the same or
# better held-out scores (32 prompts x 3 clips, seeds 0 / 1: FVD 10.7 / 8.9 vs 22.9 / 18.2,
# direction 1.0 / 1.0 vs 0.94 / 1.0, shape 0.88 / 0.91 vs 0.84 / 0.91, boundary ratio 3.72 /
# 3.64 vs 3.59 / 3.53) in 0.28x the time (benchmarks/time_to_video.py scores; see
# benchmarks/README.md, "Time to a long video at equal quality").
_base_ = ['../vidrd_full.py']
past_dependent_noise_sampling = dict(type='PastDependentNoiseSampling', alpha=1.0)
staged_guidance_denoising = dict(type='StagedGuidanceDenoising', beta=1.0)

long_video_sampler = dict(
    num_frames=8,
    num_prompt_frames=4,
    num_inference_steps=10,
    scheduler=dict(type='DPMSolverMultistepScheduler'),
    step_cache=dict(interval=2, branch=2),
    guidance_scale=1.5,
    drop_prompt_frames=True,
    strategies=[{{_base_.frame_noise_reversion}}, past_dependent_noise_sampling,
                staged_guidance_denoising],
    progress=False)
