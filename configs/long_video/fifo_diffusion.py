# FIFO-Diffusion (Kim et al. 2024): a queue of f x n frames at rising noise levels, denoised
# diagonally; each iteration the clean head frame leaves and fresh noise enters at the tail,
# so the video is unbounded and memory flat. A sampler config: use it with
#   python tools/generate.py MODEL_CONFIG [CHECKPOINT] --num-clips 4 \
#       --sampler-config configs/long_video/fifo_diffusion.py
# (--num-clips K makes K x f frames). It names another sampler type than the model's own, so it
# replaces the model's sampler, but f (num_frames) and the guidance scale are the model's (e.g.
# 16 and 7.5 for configs/vidrd_sd21_ucf.py, 24 and 9 for configs/zeroscope_v2.py). The DDIM
# steps per frame are f x n, not the model's steps (num_inference_steps=None below; an int
# replaces f x n). The authors' settings: f = 16 frames per U-Net call, n = 4 partitions (64
# DDIM steps per frame), lookahead denoising (needs an even f), eta = 1.
long_video_sampler = dict(
    type='FIFODiffusionSampler',
    num_partitions=4,       # n: the queue holds f x n frames, one per DDIM step
    num_inference_steps=None,  # f x n
    lookahead=True,
    eta=1.0,
    windows_per_call=1,
    autocast_dtype=None)
