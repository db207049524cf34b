# VidRD's temporal-aware VAE decoder (paper Sec. 3.4): Stable Diffusion 2.1's VAE with a
# 3-layer Temp-Conv after every decoder ResNet (residual, last conv zero-initialised, so at the
# start it decodes exactly like SD's VAE). The encoder and every original weight stay frozen;
# only the Temp-Convs train, on latent diffusion's autoencoder objective
#   L = a_rec * (L1 + w_p * LPIPS) + a_reg * KL + a_disc * lambda * L_GAN,
# with LDM's weights (kl-f8: kl_weight 1e-6, disc_weight 0.5, perceptual_weight 1, hinge loss,
# adaptive lambda) and a space-time patch discriminator, which can see flicker.
# The encoder is frozen, so the latents z = E(x) * 0.18215 stay SD-2.1's: a VidRD U-Net trained
# with SD's VAE decodes with the fine-tuned one unchanged.
sd21 = 'data/stable-diffusion-2-1-base'  # a diffusers folder: vae/ is read here
# LPIPS from local files (never downloaded): the LPIPS v0.1 linear layers (`vgg.pth` of the
# `lpips` pip package, lpips/weights/v0.1/vgg.pth) and torchvision's ImageNet VGG-16
# (download.pytorch.org/models/vgg16-397923af.pth). Without them: model.perceptual_loss=None.
lpips_weights = 'data/lpips/vgg.pth'
vgg_weights = 'data/lpips/vgg16-397923af.pth'

model = dict(
    type='TemporalVAEFinetuner',
    # the release's decoder Temp-Conv: 3 x [GroupNorm(32), SiLU, Dropout(0.1), Conv3d(3,1,1)]
    vae=dict(type='PretrainedAutoencoderKL', folder=sd21 + '/vae',
             temporal_conv=dict(type='TemporalConv', num_layers=3)),
    discriminator=dict(type='PatchDiscriminator3D', base_channels=64, num_layers=3,
                       norm='batch'),
    perceptual_loss=dict(type='LPIPSLoss', lpips_weights=lpips_weights,
                         vgg_weights=vgg_weights),
    rec_weight=1.0,          # a_rec
    perceptual_weight=1.0,   # w_p
    kl_weight=1e-6,          # a_reg (constant here: the encoder is frozen; logged for the record)
    disc_weight=0.5,         # a_disc
    # LDM starts the GAN once reconstructions have converged (50k iterations from scratch);
    # the decoder starts from SD's converged one, so a shorter reconstruction-only phase
    disc_start_iter=5000,
    gan_loss='hinge',
    adaptive_disc_weight=True,
    sample_posterior=True,
    gradient_checkpointing=True,  # 16 frames of 256x256 through the full-width decoder
    data_preprocessor=dict(type='VideoDataPreprocessor'))

# one optimiser per network (LDM: Adam, betas (0.5, 0.9), lr = 4.5e-6 x total batch size;
# here 2 clips x 8 GPUs); --amp switches both to mixed precision
optim_wrapper = dict(
    constructor='GeneratorDiscriminatorOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=7.2e-5, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=7.2e-5, betas=(0.5, 0.9))))
# the generator and the discriminator are updated in separate backward passes: DDP wraps each
# (mmengine's separate wrapper); on CPUs add device_ids=None
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
