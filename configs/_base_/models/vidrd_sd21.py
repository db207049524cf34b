# VidRD on Stable Diffusion 2.1-base (paper Sec. 3.1-3.2): SD-2.1's U-Net with Temp-Conv after
# every ResNet and Temp-Attn (with frame embedding) in every transformer block; frozen VAE and
# text encoder; the temporal layers and spatial transformer blocks train.
sd21 = 'data/stable-diffusion-2-1-base'  # a diffusers folder: unet/ vae/ text_encoder/ tokenizer/
num_frames = 16
resolution = (256, 256)

model = dict(
    type='VidRD',
    unet=dict(
        type='PretrainedUNet3D', folder=sd21 + '/unet',
        temporal_conv=dict(type='TemporalConv', num_layers=4, dropout=0.1),
        temporal_attention=dict(type='TemporalAttention', frame_embedding=True),
        temporal_attention_levels=('down', 'mid', 'up'),
        norm_over_frames=True,  # the original's GroupNorms see the whole clip
        gradient_checkpointing=True,
        # torch.compile (inductor) of the U-Net's forward, in training and sampling; True or a
        # dict of torch.compile options; falls back to eager with a logged reason
        compile=False),
    # the fine-tuned temporal VAE of the release: vae=dict(type='PretrainedAutoencoderKL',
    #     folder='data/vidrd/vae_finetuned')
    vae=dict(type='PretrainedAutoencoderKL', folder=sd21 + '/vae'),
    text_encoder=dict(type='CLIPTextEncoder', pretrained=sd21 + '/text_encoder',
                      tokenizer=sd21 + '/tokenizer'),
    noise_schedule=dict(type='DDPMNoiseSchedule', num_train_timesteps=1000,
                        beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012,
                        prediction_type='epsilon'),
    sampling_scheduler=dict(type='DDIMScheduler', num_train_timesteps=1000,
                            beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012,
                            steps_offset=1, set_alpha_to_one=False),
    trainable=('temporal', 'transformer_blocks'),
    caption_dropout=0.1,
    num_frames=num_frames,
    resolution=resolution,
    # sampling: DPM-Solver++ 2M at 10 steps over the DDIM schedule above, step caching every 2nd
    # step (configs/samplers/dpm_solver_10_step_cache.py, where the measurements are); the
    # original release's DDIM 50: scheduler=None, num_inference_steps=50, step_cache=None
    long_video_sampler=dict(
        type='ReuseAndDiffuseSampler', num_frames=num_frames, num_prompt_frames=8,
        num_inference_steps=10, guidance_scale=7.5, strategies=[],
        scheduler=dict(type='DPMSolverMultistepScheduler'),
        step_cache=dict(interval=2, branch=2)),
    num_clips=1)
