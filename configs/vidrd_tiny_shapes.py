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
        type='UNet3DConditionModel', in_channels=12, out_channels=12,
        block_out_channels=(64, 128), layers_per_block=1, num_attention_heads=(2, 4),
        down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
        up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
        cross_attention_dim=64,
        temporal_conv=dict(type='TemporalConv', num_layers=2, dropout=0.0),
        temporal_attention=dict(type='TemporalAttention', frame_embedding=True)),
    vae=dict(type='PixelShuffleAutoencoder', factor=2),
    text_encoder=dict(
        type='CLIPTextEncoder',
        config=dict(vocab_size=len(words) + 4, hidden_size=64, intermediate_size=128,
                    num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77),
        tokenizer=dict(type='WordTokenizer', vocab=words)),
    noise_schedule=dict(type='DDPMNoiseSchedule', beta_schedule='squaredcos_cap_v2',
                        prediction_type='sample'),
    sampling_scheduler=dict(type='DDIMScheduler', beta_schedule='squaredcos_cap_v2',
                            steps_offset=0, clip_sample=True),
    trainable=('all',),
    caption_dropout=0.1,
    num_frames=8,
    resolution=(32, 32),
    long_video_sampler=dict(type='ReuseAndDiffuseSampler', num_frames=8, num_prompt_frames=0,
                            num_inference_steps=20, guidance_scale=3.0, strategies=[],
                            progress=False))

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0), clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1500, val_interval=100_000)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=500, max_keep_ckpts=2))
val_evaluator = []
test_evaluator = []
