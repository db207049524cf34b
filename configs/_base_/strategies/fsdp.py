# mmengine's FSDPStrategy (PyTorch FSDP1; GPUs only: FSDP1 refuses the CPU, use fsdp2.py there).
# Each U-Net block (down / mid / up, with its temporal layers) is one FSDP unit.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy='unet_block_wrap_policy',
        use_orig_params=True))  # frozen and trainable parameters share FSDP units
