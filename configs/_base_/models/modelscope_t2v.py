# ModelScope T2V 1.7B (damo-vilab/text-to-video-ms-1.7b) or Zeroscope v2 as a VidRD backbone:
# the diffusers pipeline folder's U-Net on vidrd's blocks (PretrainedModelScopeUNet3D), its
# VAE and its text encoder (OpenCLIP-H with the penultimate-layer convention: the folder's
# text_encoder/ already ends at layer 23 of 24, and TextToVideoSDPipeline conditions on its
# last_hidden_state, final LayerNorm included, which is what CLIPTextEncoder returns).
# Only the temporal layers train by default (temp_convs, temp_attentions, transformer_in).
modelscope = 'data/text-to-video-ms-1.7b'  # unet/ vae/ text_encoder/ tokenizer/ scheduler/
num_frames = 16
resolution = (256, 256)

model = dict(
    type='VidRD',
    unet=dict(type='PretrainedModelScopeUNet3D', folder=modelscope + '/unet',
              gradient_checkpointing=True),
    vae=dict(type='PretrainedAutoencoderKL', folder=modelscope + '/vae'),
    text_encoder=dict(type='CLIPTextEncoder', pretrained=modelscope + '/text_encoder',
                      tokenizer=modelscope + '/tokenizer'),
    # the folder's scheduler/scheduler_config.json (the release: DDIM, scaled-linear betas,
    # epsilon) for both the training schedule and the sampler
    noise_schedule=dict(type='PretrainedDDPMNoiseSchedule', folder=modelscope + '/scheduler'),
    sampling_scheduler=dict(type='PretrainedDDIMScheduler', folder=modelscope + '/scheduler'),
    trainable=('temporal',),
    caption_dropout=0.1,
    num_frames=num_frames,
    resolution=resolution,
    long_video_sampler=dict(
        type='ReuseAndDiffuseSampler', num_frames=num_frames, num_prompt_frames=8,
        num_inference_steps=50, guidance_scale=9.0, strategies=[]),  # the pipeline's default
    num_clips=1)
