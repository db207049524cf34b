# The released VidRD model (ModelT2V.pth + vae_finetuned/) over Stable Diffusion 2.1-base, with
# the original sampler settings: generate, reproduce the UCF-101 numbers, fine-tune.
#   python tools/generate.py configs/vidrd_released.py --prompt "..." --num-clips 4
#   python tools/test.py configs/vidrd_released.py            (UCF-101 zero-shot: FVD, IS)
#   python tools/train.py configs/vidrd_released.py           (continues from the release)
# Files (nothing is downloaded; see README, "Real weights and data"):
#   data/stable-diffusion-2-1-base/  unet/ (architecture) text_encoder/ (architecture)
#                                    tokenizer/ (stabilityai/stable-diffusion-2-1-base)
#   data/vidrd/ModelT2V.pth          the release's U-Net and text encoder
#   data/vidrd/vae_finetuned/        the release's temporal VAE (config.json + weights)
# Everything else (schedules, UCF-101 data and protocol, runtime) is configs/vidrd_sd21_ucf.py's.
_base_ = ['./vidrd_sd21_ucf.py']
sd21 = 'data/stable-diffusion-2-1-base'
released = 'data/vidrd/ModelT2V.pth'
# N: the 16-frame clips the SD-2.1 config trains on and the UCF-101 protocol scores (FVD's I3D
# takes 16 frames). The original implementation's default long-video case (the one
# tests/models/long_video/test_parity_with_original.py reproduces, at tiny size) ran N = 8.
num_frames = 16

model = dict(
    # the release's 3D U-Net: SD-2.1-base's architecture read from its unet/config.json, every
    # weight (spatial and temporal) from ModelT2V.pth's `unet.*` keys; the constructor's
    # defaults are the release's temporal layers (Temp-Conv after every ResNet, Temp-Attn with
    # frame embedding at every level). `_delete_` drops the base's PretrainedUNet3D `folder`.
    unet=dict(_delete_=True, type='OriginalVidRDUNet', checkpoint=released,
              unet_config=sd21 + '/unet', norm_over_frames=True, gradient_checkpointing=True,
              compile=False),
    # the release's temporal VAE (decoder Temp-Conv, fine-tuned; paper Sec. 3.2)
    vae=dict(type='PretrainedAutoencoderKL', folder='data/vidrd/vae_finetuned'),
    # the original code trains the text encoder with the U-Net and stores it in ModelT2V.pth
    # (`text_encoder.*`): its weights come from there, the architecture from SD-2.1's folder
    text_encoder=dict(_delete_=True, type='CLIPTextEncoder', config=sd21 + '/text_encoder',
                      checkpoint=released, tokenizer=sd21 + '/tokenizer'),
    num_frames=num_frames,
    resolution=(256, 256),  # the original model's `resolution: 256`
    # the original sampler, whole (_delete_: not the base's fast solver): DDIM 50 as the release.
    # Faster at the same closeness to a converged solution:
    #   --sampler-config configs/samplers/dpm_solver_10_step_cache.py
    long_video_sampler=dict(
        _delete_=True,
        type='ReuseAndDiffuseSampler',
        num_frames=num_frames,
        # M = 4, guidance 10, PNS alpha 4, DSG beta 0.4: the original implementation's default
        # long-video case
        num_prompt_frames=4,
        guidance_scale=10.0,
        num_inference_steps=50,  # the original evaluator's default DDIM steps
        seed_compatible=True,    # the original's random draws: same seed, same video
        drop_prompt_frames=False,
        strategies=[dict(type='FrameNoiseReversion'),
                    dict(type='PastDependentNoiseSampling', alpha=4.0),
                    dict(type='StagedGuidanceDenoising', beta=0.4)]),
    num_clips=1)  # tools/test.py scores single 16-frame clips; --num-clips for long videos
