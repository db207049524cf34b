# The embedded default: a tiny VidRD trained from scratch on the CPU in minutes on the
# generated moving-shapes dataset (no downloads). Same model class and training code as the
# SD-2.1 config; the VAE is swapped for a parameter-free pixel-shuffle autoencoder and the text
# encoder is a tiny, frozen, randomly initialised CLIP text model over the dataset's words.
_base_ = [
    './_base_/datasets/moving_shapes.py',
    './_base_/schedules/adamw_iter.py',
    './_base_/default_runtime.py',
]
words = ['a', 'moving', 'red', 'green', 'blue', 'yellow', 'circle', 'square', 'triangle',
         'left', 'right', 'up', 'down']

model = dict(
    type='VidRD',
    unet=dict(
        type='UNet3DConditionModel', in_channels=27, out_channels=27,
        block_out_channels=(32, 64), layers_per_block=1, num_attention_heads=(2, 2),
        norm_num_groups=8,
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
        up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
        cross_attention_dim=64,
        temporal_conv=dict(type='TemporalConv', num_layers=2, dropout=0.0),
        temporal_attention=dict(type='TemporalAttention', frame_embedding=True),
        # off: on a 2-core CPU inductor takes minutes per graph of a small U-Net (training,
        # eval and sampling each need their own); not measured to pay off in the demo
        compile=False),
    vae=dict(type='PixelShuffleAutoencoder', factor=3),  # 24x24x3 -> 8x8x27
    text_encoder=dict(
        type='CLIPTextEncoder',
        # no transformer layers: each token's feature is its (word, position) embedding after
        # the final LayerNorm, so the direction word stays separable from colour and shape and
        # unseen combinations compose (with mixing layers, random and frozen, they entangle)
        config=dict(vocab_size=len(words) + 4, hidden_size=64, intermediate_size=128,
                    num_hidden_layers=0, num_attention_heads=4, max_position_embeddings=77,
                    bos_token_id=0, pad_token_id=1, eos_token_id=2),
        tokenizer=dict(type='WordTokenizer', vocab=words)),
    # the layout and motion a caption names are decided at high noise only (below t ~ 700 the
    # noisy clip already shows them): draw those timesteps 6x as often (72% of the draws)
    noise_schedule=dict(type='DDPMNoiseSchedule', beta_schedule='squaredcos_cap_v2',
                        prediction_type='sample',
                        timestep_bias=dict(begin=700, end=1000, multiplier=6.0)),
    sampling_scheduler=dict(type='DDIMScheduler', beta_schedule='squaredcos_cap_v2',
                            steps_offset=0, clip_sample=True),
    trainable=('all',),
    caption_dropout=0.1,
    num_frames=8,
    resolution=(24, 24),
    # long videos that continue: FIFO-Diffusion, 8 DDIM steps per frame (the settings of
    # configs/long_video/tiny_shapes/fifo_diffusion.py, where the measurements are); one clip
    # is its warm-up clip on the same grid. Guidance 1.5: at 3 this small model overshoots
    # into broken blobs (held-out shape accuracy 0.25, colour 0.81 after 1200 iterations,
    # against 0.88 and 1.0 at 1.5; benchmarks/demo_attribute_accuracy.py --guidance 1 1.5 2 3).
    # The paper's sampler: --sampler-config configs/ablations/tiny_shapes/vidrd_full.py
    long_video_sampler=dict(type='FIFODiffusionSampler', num_frames=8, num_partitions=1,
                            lookahead=True, eta=1.0, guidance_scale=1.5, progress=False))

# fused: one kernel per parameter for the whole AdamW update (the per-op loop over this
# model's 399 small tensors took ~10% of a CPU step)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0, fused=True),
                     clip_grad=dict(max_norm=1.0))
# clips at any offset need twice the centre-start data's 1200 iterations for shape and direction
# (held-out shape 0.75, direction 0.88 after 2400); ~9 minutes on 2 CPU cores (4.4 it/s)
max_iters = 2400
param_scheduler = [
    dict(type='LinearLR', start_factor=0.02, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=0.0),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100_000)
# the frozen text encoder is randomly initialised (no file restores it): keep it in checkpoints
custom_hooks = [
    dict(type='TrainableCheckpointHook', keep_frozen=['text_encoder.']),
    dict(type='IterationSeedHook'),
    # held-out prompts sampled 3 times in training: files and TensorBoard videos
    dict(type='VideoVisualizationHook', max_videos=8, formats=('mp4', 'gif'), interval=800,
         prompts=('a red triangle moving up', 'a blue circle moving left')),
]
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=500, max_keep_ckpts=2))
# no validation: mmengine would run it once after the last iteration (~9 s, no metric)
val_dataloader = val_cfg = val_evaluator = None
# held-out prompts scored by the demo's in-domain classifier (attribute accuracy, FVD, IS):
# tools/demo.sh trains it next to the model; if the file is missing it is trained here the same
# way (~1 minute), so `tools/test.py configs/vidrd_tiny_shapes.py CKPT` prints the demo's table
_classifier = dict(type='ShapesClassifier', weights='work_dirs/demo/shapes_classifier.safetensors',
                   train_if_missing=dict(dataset={{_base_.shapes_dataset}}, iterations=300))
test_evaluator = [dict(type='ShapesAttributeAccuracy'),
                  dict(type='FrechetVideoDistance', extractor=_classifier),
                  dict(type='InceptionScore', extractor=_classifier, num_splits=2)]
