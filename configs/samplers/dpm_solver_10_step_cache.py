# Fast sampling for any model whose sampler is the clip-after-clip ReuseAndDiffuseSampler (or
# temporal co-denoising): DPM-Solver++ 2M at 10 steps, built over the model's own noise schedule,
# with step caching (DeepCache) every 2nd step, branch 2. At the issue-14 benchmark size it lands
# 3.2x closer to a converged DDIM-250 solution than DDIM 50 does; on the embedded model it keeps
# (or improves) DDIM 20's held-out scores in 0.28x the time (benchmarks/README.md, "Time to a
# long video at equal quality"). The default of configs/_base_/models/vidrd_sd21.py; an overlay
# for the others:
#   python tools/generate.py configs/vidrd_released.py --sampler-config \
#       configs/samplers/dpm_solver_10_step_cache.py --prompt "..." --num-clips 4
long_video_sampler = dict(
    scheduler=dict(type='DPMSolverMultistepScheduler'),
    num_inference_steps=10,
    step_cache=dict(interval=2, branch=2))
