# FreeNoise noise rescheduling alone on the tiny moving-shapes model: clips of N = 8 frames with
# no prompt frames (M = 0), each clip's initial noise a group-wise shuffle (groups of S = 4
# frames) of the previous clip's, i.e. of clip 0's. Generation only; train with the base config.
_base_ = ['../../../configs/vidrd_tiny_shapes.py']
custom_imports = dict(imports=['vidrd_freenoise'], allow_failed_imports=False)

model = dict(
    num_clips=3,
    # the paper's clip-after-clip sampler at the tiny model's settings (its own is FIFO)
    long_video_sampler=dict(
        _delete_=True, type='ReuseAndDiffuseSampler', num_frames=8, num_prompt_frames=0,
        num_inference_steps=20, guidance_scale=1.5, progress=False,
        strategies=[dict(type='FreeNoiseRescheduling', window_stride=4)]))
