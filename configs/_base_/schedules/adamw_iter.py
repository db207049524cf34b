# AdamW, iteration-based training with a linear warm-up.
optim_wrapper = dict(
    type='OptimWrapper',  # --amp switches to bf16 / fp16
    optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=1e-2),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=100_000, val_interval=10_000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
