# Step 2 of 2 of the embedded temporal-VAE setup: VidRD's temporal-aware decoder fine-tuning
# (paper Sec. 3.4) on the moving-shapes clips, starting from the tiny 2D VAE of step 1:
#   python tools/train.py configs/vae_tiny_shapes_pretrain.py    # step 1, writes .../vae
#   python tools/train.py configs/vae_temporal_tiny_shapes.py    # step 2, writes .../vae_finetuned
# Same model class, loss and hooks as configs/vae_temporal_sd21_ucf.py: a zero-initialised
# 3-layer Temp-Conv after every decoder ResNet, everything else frozen, L1 + KL + a space-time
# patch GAN. Validation on held-out clips reports PSNR / SSIM / temporal_diff_l1 and writes
# input | reconstruction side by side; benchmarks/vae_temporal_consistency.py compares the
# exported decoder with the frozen per-frame one.
# A VidRD model that should decode with it must be trained on this VAE's latents (unet
# in_channels=4 at 16x16 instead of the pixel-shuffle autoencoder of vidrd_tiny_shapes.py):
#   vae=dict(type='PretrainedAutoencoderKL',
#            folder='work_dirs/vae_temporal_tiny_shapes/vae_finetuned')
_base_ = [
    './_base_/datasets/moving_shapes.py',
    './_base_/default_runtime.py',
]
pretrained_vae = 'work_dirs/vae_tiny_shapes_pretrain/vae'  # step 1's export

model = dict(
    type='TemporalVAEFinetuner',
    vae=dict(type='PretrainedAutoencoderKL', folder=pretrained_vae,
             # the release's 3 layers; GroupNorm groups and dropout sized for 16-32 channels
             temporal_conv=dict(type='TemporalConv', num_layers=3, norm_groups=8, dropout=0.0)),
    discriminator=dict(type='PatchDiscriminator3D', base_channels=16, num_layers=2,
                       norm='batch'),
    perceptual_loss=None,
    kl_weight=1e-6, disc_weight=0.5,
    disc_start_iter=200,
    data_preprocessor=dict(type='VideoDataPreprocessor'))

train_dataloader = dict(batch_size=4)  # 4 clips of 8 frames
val_dataloader = dict(batch_size=8)
test_dataloader = val_dataloader
val_evaluator = dict(type='VideoReconstructionMetric')
test_evaluator = val_evaluator

optim_wrapper = dict(
    constructor='GeneratorDiscriminatorOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.9))))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=300,
                        eta_min=5e-5)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=300, max_keep_ckpts=1))
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)

custom_hooks = [
    dict(type='TrainableCheckpointHook'),
    dict(type='IterationSeedHook'),
    dict(type='VideoVisualizationHook', max_videos=4, formats=('gif',), side_by_side=True),
    dict(type='ExportTemporalVAEHook', folder='vae_finetuned'),
]
