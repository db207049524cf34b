# Step 1 of 2 of the embedded temporal-VAE setup (no downloads, a few minutes on a CPU):
# train a tiny 2D KL autoencoder (the role SD-2.1's VAE plays in the real setup) on frames of
# the moving-shapes dataset, with LDM's autoencoder loss and every weight trainable.
#   python tools/train.py configs/vae_tiny_shapes_pretrain.py
# -> work_dirs/vae_tiny_shapes_pretrain/vae/  (diffusers vae/ layout), which step 2,
#   python tools/train.py configs/vae_temporal_tiny_shapes.py
# reads to fine-tune a zero-initialised Temp-Conv decoder on clips (paper Sec. 3.4).
_base_ = [
    './_base_/datasets/moving_shapes.py',
    './_base_/default_runtime.py',
]

# 32x32 RGB frames -> 4 x 16 x 16 latents; two levels of 16 / 32 channels, no mid-block
# attention (~160k parameters: about 0.5 s per iteration of 32 frames on one CPU core,
# 600 iterations in ~5 min)
tiny_vae = dict(
    type='AutoencoderKL', block_out_channels=(16, 32),
    down_block_types=('DownEncoderBlock2D', 'DownEncoderBlock2D'),
    up_block_types=('UpDecoderBlock2D', 'UpDecoderBlock2D'),
    layers_per_block=1, norm_num_groups=8, latent_channels=4, sample_size=32,
    mid_block_add_attention=False)

model = dict(
    type='AutoencoderKLTrainer',
    vae=tiny_vae,
    # LDM adds its patch GAN late in training, for sharp textures. Flat coloured shapes over a
    # few hundred iterations gain nothing from it: started at iteration 300 of 400 it raised
    # the L1 loss from 0.035 to 0.044 within 50 iterations. So L1 + KL here; a 2D patch
    # discriminator is one line away: discriminator=dict(type='PatchDiscriminator2D', ...)
    # (+ optim_wrapper.discriminator and disc_start_iter).
    discriminator=None,
    perceptual_loss=None,  # no LPIPS weights in the embedded setup: L1 only
    kl_weight=1e-6,
    data_preprocessor=dict(type='VideoDataPreprocessor'))

# frames are encoded one by one here: 16 clips of 2 frames give 32 varied frames per batch
train_dataloader = dict(batch_size=16, dataset=dict(num_frames=2))
val_dataloader = dict(batch_size=8)
test_dataloader = val_dataloader
val_evaluator = dict(type='VideoReconstructionMetric')
test_evaluator = val_evaluator

optim_wrapper = dict(
    constructor='GeneratorDiscriminatorOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0.5, 0.9))))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=600,
                        eta_min=5e-5)]
# 600 iterations (~5 min) give held-out PSNR ~27 dB but have not converged: 300 more lower the
# held-out temporal_diff_l1 by another ~11% (benchmarks/vae_temporal_consistency.py, --control-vae);
# raise max_iters (and the scheduler's end) for a stronger base VAE
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=600)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=600, max_keep_ckpts=1))
# the model's own train_step under DDP (mmengine's plain DDP wrapper would bypass it)
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)

custom_hooks = [
    dict(type='TrainableCheckpointHook'),
    dict(type='IterationSeedHook'),
    dict(type='VideoVisualizationHook', max_videos=4, formats=('gif',), side_by_side=True),
    # the 2D VAE in diffusers' vae/ layout, read by configs/vae_temporal_tiny_shapes.py
    dict(type='ExportTemporalVAEHook', folder='vae'),
]
