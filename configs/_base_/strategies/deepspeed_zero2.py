# mmengine's DeepSpeedStrategy with ZeRO stage 2 (optimiser state and gradients sharded; GPUs,
# `pip install deepspeed`). bf16 weights and activations; the optimiser wrapper is DeepSpeed's.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    bf16=dict(enabled=True),
    zero_optimization=dict(stage=2, allgather_partitions=True, reduce_scatter=True,
                           allgather_bucket_size=int(5e8), reduce_bucket_size=int(5e8),
                           overlap_comm=True, contiguous_gradients=True),
    gradient_clipping=1.0)
optim_wrapper = dict(type='DeepSpeedOptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-5, betas=(0.9, 0.999),
                                    weight_decay=1e-2))
