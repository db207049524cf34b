"""Stable Diffusion 1.5 with real AnimateDiff motion modules, on vidrd's video U-Net."""
from typing import Optional

from vidrd.models.unets import UNet3DConditionModel, build_unet_from_pretrained_2d
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import CheckpointMismatchError, load_into

from .motion_checkpoints import read_motion_checkpoint, to_vidrd_names
from vidrd.utils.errors import InvalidValueError

#: the original release's motion modules (mm_sd_v15*.ckpt carry no config)
ORIGINAL_MOTION_CONFIG = dict(motion_num_attention_heads=8, motion_norm_num_groups=32,
                              motion_transformer_layers_per_block=1)


def _single(config: dict, key: str, source: str) -> int:
    value = config.get(key, ORIGINAL_MOTION_CONFIG.get(key))
    values = set(value) if isinstance(value, (list, tuple)) else {value}
    if len(values) != 1:
        raise InvalidValueError(
            f'{source}: {key}={value!r}; vidrd\'s AnimateDiffUNet needs one value '
            'for every level')
    return values.pop()


@MODELS.register_module(name='AnimateDiffUNet')
def build_animatediff_unet(folder: str, motion_module: str, trust_pickle: bool = False,
                           norm_over_frames: bool = True,
                           motion_module_config: Optional[dict] = None,
                           **overrides) -> UNet3DConditionModel:
    """SD-1.5's U-Net (a diffusers ``unet/`` folder) with AnimateDiff motion modules loaded from
    ``motion_module``: an original ``mm_sd_v15*.ckpt`` or a diffusers ``MotionAdapter`` folder.

    As diffusers' ``UNetMotionModel``: a motion module after every spatial transformer and
    after every ResNet of the blocks without transformers, in the mid block when the
    checkpoint has one (v2); ResNet norms per frame. ``norm_over_frames`` is the motion
    modules' input GroupNorm (True: diffusers' ``AnimateDiffPipeline``; False: the original
    code). Missing or unexpected motion-module keys are an error naming them.

    Registered in ``MODELS`` as ``AnimateDiffUNet`` (the ``type`` configs use).

    Args:
        folder (str): SD-1.5's diffusers ``unet/`` folder, or the pipeline folder holding it.
        motion_module (str): an original ``mm_sd_v15*.ckpt`` or a diffusers ``MotionAdapter``
            folder.
        trust_pickle (bool): allow a pickle checkpoint that needs arbitrary code to load.
            Defaults to False.
        norm_over_frames (bool): the motion modules' input GroupNorm over all frames (True:
            diffusers' ``AnimateDiffPipeline``) or per frame (False: the original code).
            Defaults to True.
        motion_module_config (dict, optional): ``MotionAdapter`` config entries for a
            ``.ckpt`` (which has none): ``motion_num_attention_heads`` (8),
            ``motion_norm_num_groups`` (32), ``motion_transformer_layers_per_block`` (1).
            Defaults to None.
        **overrides: constructor arguments of ``UNet3DConditionModel``.

    Returns:
        UNet3DConditionModel: the U-Net with every spatial and motion-module weight loaded.

    Raises:
        CheckpointMismatchError: the checkpoint has keys of no motion module, or lacks some.
    """
    raw, config, source = read_motion_checkpoint(motion_module, trust_pickle)
    state, layout, unexpected = to_vidrd_names(raw, source)
    config = dict(config or {}, **(motion_module_config or {}))
    has_mid = any(k.startswith('mid_block.') for k in state)
    temporal_module = dict(
        type='AnimateDiffMotionModule',
        num_heads=_single(config, 'motion_num_attention_heads', source),
        num_layers=_single(config, 'motion_transformer_layers_per_block', source),
        norm_num_groups=_single(config, 'motion_norm_num_groups', source),
        attention_blocks=2, zero_init=False, norm_over_frames=norm_over_frames)
    args = dict(temporal_conv=None, temporal_attention=None, norm_over_frames=False,
                temporal_module=temporal_module, temporal_module_in_resnet_blocks=True,
                temporal_module_levels=('down', 'mid', 'up') if has_mid else ('down', 'up'))
    args.update(overrides)
    unet = build_unet_from_pretrained_2d(folder, trust_pickle=trust_pickle, **args)
    if unexpected:
        raise CheckpointMismatchError(
            f'{source}: {len(unexpected)} keys are no motion-module weight of the {layout} '
            f'AnimateDiff layout: {", ".join(unexpected[:20])}')
    # the spatial weights came from folder; every motion-module weight must be here
    spatial = [k for k in unet.state_dict() if '.temp_modules.' not in k]
    load_into(unet, state, source=f'{source} ({layout} AnimateDiff layout)',
              allow_missing=spatial)
    return unet
