# Reuse and Diffuse on AnimateDiff: Stable Diffusion 1.5 with real AnimateDiff motion modules
# (the original mm_sd_v15*.ckpt or a diffusers MotionAdapter folder); long videos with the same
# strategies, fine-tuning of the motion modules and the UCF-101 protocol, from a vidrd checkout:
#   python tools/generate.py plugins/vidrd_animatediff/configs/animatediff_sd15.py \
#       --prompt "..." --num-clips 4 --sampler-config configs/ablations/vidrd_full.py
_base_ = [
    '../../../configs/_base_/datasets/ucf101.py',
    '../../../configs/_base_/evaluation/ucf101_zero_shot.py',
    '../../../configs/_base_/schedules/adamw_iter.py',
    '../../../configs/_base_/default_runtime.py',
]
custom_imports = dict(imports=['vidrd_animatediff'], allow_failed_imports=False)
sd15 = 'data/stable-diffusion-v1-5'  # diffusers folder: unet/ vae/ text_encoder/ tokenizer/
motion_module = 'data/animatediff/mm_sd_v15_v2.ckpt'  # or a MotionAdapter folder
num_frames = 16
resolution = (512, 512)

model = dict(
    type='VidRD',
    unet=dict(type='AnimateDiffUNet', folder=sd15 + '/unet', motion_module=motion_module,
              norm_over_frames=True,  # diffusers' AnimateDiffPipeline; False: the original code
              gradient_checkpointing=True),
    vae=dict(type='PretrainedAutoencoderKL', folder=sd15 + '/vae'),
    # SD-1.5 conditions on CLIP ViT-L/14's last_hidden_state (final LayerNorm included)
    text_encoder=dict(type='CLIPTextEncoder', pretrained=sd15 + '/text_encoder',
                      tokenizer=sd15 + '/tokenizer'),
    # AnimateDiff's inference schedule: linear betas, DDIM with steps_offset 1
    noise_schedule=dict(type='DDPMNoiseSchedule', num_train_timesteps=1000,
                        beta_schedule='linear', beta_start=0.00085, beta_end=0.012,
                        prediction_type='epsilon'),
    sampling_scheduler=dict(type='DDIMScheduler', num_train_timesteps=1000,
                            beta_schedule='linear', beta_start=0.00085, beta_end=0.012,
                            steps_offset=1, set_alpha_to_one=False),
    trainable=('temporal',),  # the motion modules
    caption_dropout=0.1,
    num_frames=num_frames,
    resolution=resolution,
    long_video_sampler=dict(
        type='ReuseAndDiffuseSampler', num_frames=num_frames, num_prompt_frames=8,
        num_inference_steps=25, guidance_scale=7.5, strategies=[]),
    num_clips=1)
