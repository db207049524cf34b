# VidRD's temporal-aware VAE decoder fine-tuned on UCF-101 (paper Sec. 3.4).
#   python tools/train.py configs/vae_temporal_sd21_ucf.py             (bf16: add --amp)
# Needs data/stable-diffusion-2-1-base/vae, data/ucf101 (UCF-101 + splits) and the two LPIPS
# files of configs/_base_/models/temporal_vae_sd21.py (or --cfg-options model.perceptual_loss=None).
# Validation reports PSNR, SSIM and the temporal-consistency error temporal_diff_l1 of
# reconstructions and writes input | reconstruction videos side by side under videos/.
# At the end the VAE is exported in the release's vae_finetuned/ layout to
#   work_dirs/vae_temporal_sd21_ucf/vae_finetuned/     (config.json + safetensors)
# (an intermediate checkpoint: tools/export_vae.py CONFIG CHECKPOINT OUT_DIR).
# VidRD then decodes with it by one line in configs/_base_/models/vidrd_sd21.py (the encoder is
# unchanged, so a VidRD U-Net trained with SD's VAE needs no retraining):
#   vae=dict(type='PretrainedAutoencoderKL', folder='work_dirs/vae_temporal_sd21_ucf/vae_finetuned')
# or, without editing: --cfg-options model.vae.folder=work_dirs/vae_temporal_sd21_ucf/vae_finetuned
# (tools/train.py, tools/test.py, tools/generate.py).
_base_ = [
    './_base_/models/temporal_vae_sd21.py',
    './_base_/datasets/ucf101.py',
    './_base_/default_runtime.py',
]

# held-out reconstructions: the test split's centre clips (64 of them, to keep validation short)
val_pipeline = [
    dict(type='LoadVideoFrames', num_frames={{_base_.ucf_clip.num_frames}}, frame_interval=2,
         clip_start='center'),
    dict(type='Resize', scale=256),
    dict(type='CenterCrop', size={{_base_.ucf_clip.size}}),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]
val_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='UCF101Dataset', data_root={{_base_.data_root}}, subset='test', split=1,
                 indices=64, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VideoReconstructionMetric')
test_evaluator = val_evaluator

param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20_000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=2000))

custom_hooks = [
    # checkpoints keep the trainable subset (Temp-Convs + discriminator), weights_only-loadable
    dict(type='TrainableCheckpointHook'),
    dict(type='IterationSeedHook'),
    # input | reconstruction, side by side
    dict(type='VideoVisualizationHook', max_videos=8, formats=('mp4', 'gif'), side_by_side=True),
    dict(type='BadSampleReportHook'),
    dict(type='ExportTemporalVAEHook', folder='vae_finetuned'),
]
