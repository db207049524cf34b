# Temporal co-denoising (MultiDiffusion, Bar-Tal et al. 2023; Gen-L-Video, Wang et al. 2023):
# the whole long video is denoised at once as overlapping windows of N frames, every frame's
# network output averaged over the windows that hold it. A sampler config: use it with
#   python tools/generate.py MODEL_CONFIG [CHECKPOINT] --num-clips 4 \
#       --sampler-config configs/long_video/temporal_co_denoising.py
# (--num-clips K makes K x N frames). It replaces the model's sampler but keeps its N (the
# window: the U-Net's clip length), DDIM steps and guidance. Gen-L-Video's settings: 16-frame
# windows at stride 4 (each frame in 4 windows: about 4x the paper's sampler per frame), 50
# DDIM steps (the SD-2.1 configs' own); the mean is flat, as in MultiDiffusion.
long_video_sampler = dict(
    type='TemporalCoDenoisingSampler',
    stride=4,               # s frames between window starts
    weighting='flat',       # or 'pyramid': frames near a window's edge count less
    eta=0.0,
    windows_per_call=1,     # windows batched per U-Net call (memory); None: all at once
    autocast_dtype=None)
