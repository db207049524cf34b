# FSDP2 (torch.distributed.fsdp.fully_shard) through mmengine's FlexibleRunner: each U-Net block
# one shard unit; works on GPUs (NCCL) and CPUs (gloo). Select with one line in a config,
# `_base_ = [..., './_base_/strategies/fsdp2.py']`, or `tools/train.py --strategy fsdp2`.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='vidrd.FSDP2Strategy',  # FlexibleRunner builds it before the default scope applies
    shard_modules=('unet.down_blocks.*', 'unet.mid_block', 'unet.up_blocks.*'),
    reshard_after_forward=True)  # False: keep gathered weights until backward (ZeRO-2-like)
