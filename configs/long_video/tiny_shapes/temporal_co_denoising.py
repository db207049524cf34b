# Temporal co-denoising at the size of the embedded tiny model (configs/vidrd_tiny_shapes.py):
# windows of its N = 8 frames at stride 4 (each frame in 2 windows, 2x the paper's sampler per
# frame; the authors' N / 4 would cost 4x), its 20 DDIM steps and guidance 1.5. See
# configs/long_video/temporal_co_denoising.py.
_base_ = ['../temporal_co_denoising.py']
long_video_sampler = dict(num_frames=8, stride=4, num_inference_steps=20, guidance_scale=1.5,
                          windows_per_call=None, progress=False)
