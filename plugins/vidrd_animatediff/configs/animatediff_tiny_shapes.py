# The tiny moving-shapes model with AnimateDiff-style motion modules in place of VidRD's
# temporal layers: no Temp-Conv, no in-block Temp-Attn, a temporal transformer after every
# spatial transformer; only the motion modules train (AnimateDiff trains them on a frozen
# image model: start from trained spatial weights with load_from=... for a real run).
#   python tools/train.py plugins/vidrd_animatediff/configs/animatediff_tiny_shapes.py
_base_ = ['../../../configs/vidrd_tiny_shapes.py']
custom_imports = dict(imports=['vidrd_animatediff'], allow_failed_imports=False)

model = dict(
    unet=dict(
        temporal_conv=None,
        temporal_attention=None,
        temporal_module=dict(type='AnimateDiffMotionModule', num_heads=8, num_layers=1,
                             attention_blocks=2)),
    trainable=('temporal',))
