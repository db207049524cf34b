# FIFO-Diffusion (Kim et al. 2024): a queue of f x n frames at rising noise levels, denoised
# diagonally; each iteration the clean head frame leaves and fresh noise enters at the tail,
# so the video is unbounded and memory flat. A sampler config: use it with
#   python tools/generate.py MODEL_CONFIG CHECKPOINT --num-clips 4 \
#       --sampler-config configs/long_video/fifo_diffusion.py
# (--num-clips K makes K x f frames). The authors' settings: f = 16 frames per U-Net call,
# n = 4 partitions (64 DDIM steps per frame), lookahead denoising, eta = 1.
long_video_sampler = dict(
    type='FIFODiffusionSampler',
    num_frames=16,          # f frames per U-Net call
    num_partitions=4,       # n: the queue holds f x n frames, one per DDIM step
    lookahead=True,
    eta=1.0,
    guidance_scale=7.5,
    windows_per_call=1,
    autocast_dtype=None)
