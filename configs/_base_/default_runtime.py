# Runtime shared by all vidrd configs (mmengine Runner).
default_scope = 'vidrd'
runner_type = 'VidRDRunner'  # atomic checkpoint writes

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
# VidRDRunner also reads env_cfg['tune_cpu_allocator'] (default True: glibc keeps freed
# activation-sized blocks for reuse, vidrd/utils/cpu_allocator.py); False keeps glibc's defaults

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3,
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'))

custom_hooks = [
    # checkpoints keep the trainable subset only and load with weights_only=True
    dict(type='TrainableCheckpointHook'),
    # iteration k draws the same noise whether or not the run was resumed
    dict(type='IterationSeedHook'),
    dict(type='VideoVisualizationHook', max_videos=8, formats=('mp4', 'gif')),
    # unreadable videos are skipped; their count and paths are logged after every epoch
    dict(type='BadSampleReportHook'),
]

log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
log_level = 'INFO'
# scalars (loss, lr, grad_norm, time) and sample videos go to vis_data/ as json (LocalVisBackend,
# read by tools/analysis/plot_curves.py) and to TensorBoard: `tensorboard --logdir work_dirs`.
# Weights & Biases: uncomment the last line (pip install wandb; `wandb login` first).
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
    # dict(type='WandbVisBackend', init_kwargs=dict(project='vidrd')),
]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
randomness = dict(seed=0)
# a tools/cache_latents.py folder: train from cached VAE posteriors and text embeddings instead
# of decoding and encoding the videos (e.g. --cfg-options latent_cache=work_dirs/cache)
latent_cache = None
load_from = None
resume = False
