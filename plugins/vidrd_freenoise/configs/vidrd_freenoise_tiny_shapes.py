# FreeNoise combined with VidRD's strategies on the tiny model: M = 2 prompt frames per clip
# get the previous clip's noise reversed (FNR) and follow its trajectory early on (DSG); the
# N - M = 6 new frames continue FreeNoise's rescheduled noise sequence (in place of PNS, which
# also sets the new frames: use one of the two). drop_prompt_frames gives the sequence itself.
_base_ = ['../../../configs/vidrd_tiny_shapes.py']
custom_imports = dict(imports=['vidrd_freenoise'], allow_failed_imports=False)

model = dict(
    num_clips=3,
    # the paper's clip-after-clip sampler at the tiny model's settings (its own is FIFO)
    long_video_sampler=dict(
        _delete_=True, type='ReuseAndDiffuseSampler', num_frames=8, num_inference_steps=20,
        guidance_scale=1.5, progress=False,
        num_prompt_frames=2,
        drop_prompt_frames=True,
        strategies=[
            dict(type='FrameNoiseReversion'),
            dict(type='FreeNoiseRescheduling', window_stride=4),
            dict(type='StagedGuidanceDenoising', beta=0.4),
        ]))
