"""ModelScope T2V / Zeroscope: diffusers ``UNet3DConditionModel`` folders on vidrd's blocks.

The architecture is vidrd's :class:`UNet3DConditionModel` with ModelScope's temporal layers:
``ModelScopeTemporalConv`` after every ResNet, a ``TemporalTransformer`` after every spatial
transformer and one after ``conv_in`` (``transformer_in``), per-frame ResNet norms. Parameter
names equal diffusers' except one level: diffusers' ``temp_attentions.i`` is our generic
``temp_modules.i`` placement (:data:`DIFFUSERS_TO_VIDRD`), renamed when a folder is read.
"""
import json
import os.path as osp
import re
from typing import Dict, Mapping

import torch

from vidrd.registry import MODELS
from vidrd.utils.checkpoint import find_weights_file, load_into, load_state_dict, require_path

from .loading import unet_folder
from .unet3d_condition import UNet3DConditionModel
from vidrd.utils.errors import InvalidValueError

MODELSCOPE_HINT = ('ModelScope T2V and Zeroscope come as diffusers pipeline folders (unet/, vae/, '
                   'text_encoder/, tokenizer/, scheduler/), e.g. the Hugging Face repositories '
                   'damo-vilab/text-to-video-ms-1.7b or cerspense/zeroscope_v2_576w; download one '
                   'on a machine with internet and point the config at the local copy.')
WEIGHTS_NAMES = ('diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin',
                 'diffusion_pytorch_model.fp16.safetensors', 'diffusion_pytorch_model.fp16.bin')

#: the only renamed level of a diffusers ``UNet3DConditionModel`` state dict
DIFFUSERS_TO_VIDRD = (re.compile(r'\.temp_attentions\.(\d+)\.'), r'.temp_modules.\1.')
VIDRD_TO_DIFFUSERS = (re.compile(r'\.temp_modules\.(\d+)\.'), r'.temp_attentions.\1.')

#: the only values of these diffusers ``UNet3DConditionModel`` settings vidrd implements; a folder
#: with another value is refused, never built as another model
_SUPPORTED_ONLY = dict(act_fn='silu', mid_block_scale_factor=1, num_attention_heads=None,
                    time_cond_proj_dim=None)
_BLOCK_TYPES = {'CrossAttnDownBlock3D', 'DownBlock3D', 'CrossAttnUpBlock3D', 'UpBlock3D'}


def modelscope_unet_config(config: dict, source: str = 'config') -> dict:
    """Our ``UNet3DConditionModel`` arguments from a diffusers ``UNet3DConditionModel``
    ``config.json``.

    diffusers' 3D U-Net reads ``attention_head_dim`` as the size of a head: level i has
    ``block_out_channels[i] // attention_head_dim`` heads, ``transformer_in`` 8 heads.

    Args:
        config (dict): the parsed ``config.json``.
        source (str): where it came from, for error messages. Defaults to ``'config'``.

    Returns:
        dict: constructor arguments of :class:`UNet3DConditionModel`, ModelScope's temporal
        layers included.

    Raises:
        ValueError: a setting vidrd does not implement (another ``_class_name``, a value of
            :data:`_SUPPORTED_ONLY` other than the supported one, an ``attention_head_dim``
            that does not divide every level's channels, an unknown block type).
    """
    name = config.get('_class_name', 'UNet3DConditionModel')
    if name != 'UNet3DConditionModel':
        raise InvalidValueError(
            f'{source}: _class_name={name!r}; a ModelScope / Zeroscope U-Net folder '
            'holds a diffusers UNet3DConditionModel')
    for key, default in _SUPPORTED_ONLY.items():
        if config.get(key, default) != default:
            raise InvalidValueError(f'{source}: {key}={config[key]!r} is not supported by vidrd\'s '
                                    f'ModelScope U-Net (expected {default!r})')
    head_dim = config.get('attention_head_dim', 64)
    channels = tuple(config.get('block_out_channels', (320, 640, 1280, 1280)))
    groups = config.get('norm_num_groups', 32)
    if not isinstance(head_dim, int) or any(c % head_dim for c in channels) or groups is None:
        raise InvalidValueError(
            f'{source}: attention_head_dim={head_dim!r} must be one int dividing '
            f'every block_out_channels {channels}, and norm_num_groups set')
    types = [*config.get('down_block_types', ()), *config.get('up_block_types', ())]
    unknown = sorted(set(types) - _BLOCK_TYPES)
    if unknown:
        raise ValueError(f'{source}: block types {unknown} are not supported; expected '
                         f'{sorted(_BLOCK_TYPES)}')
    ours = dict(
        in_channels=config.get('in_channels', 4), out_channels=config.get('out_channels', 4),
        block_out_channels=channels,
        down_block_types=tuple(config.get('down_block_types', ('CrossAttnDownBlock3D',) * 3
                                          + ('DownBlock3D',))),
        up_block_types=tuple(config.get('up_block_types', ('UpBlock3D',)
                                        + ('CrossAttnUpBlock3D',) * 3)),
        mid_block_type='UNetMidBlock3DCrossAttn',
        layers_per_block=config.get('layers_per_block', 2),
        num_attention_heads=tuple(c // head_dim for c in channels),
        cross_attention_dim=config.get('cross_attention_dim', 1024),
        use_linear_projection=True, norm_num_groups=groups,
        norm_eps=config.get('norm_eps', 1e-5),
        downsample_padding=config.get('downsample_padding', 1),
        norm_over_frames=False)
    ours.update(modelscope_temporal_layers(head_dim, groups))
    return ours


def modelscope_temporal_layers(head_dim: int = 64, norm_groups: int = 32) -> dict:
    """The temporal-layer arguments of a ModelScope T2V U-Net.

    Args:
        head_dim (int): the size of an attention head of the temporal transformers.
            Defaults to 64.
        norm_groups (int): GroupNorm groups of the temporal layers. Defaults to 32.

    Returns:
        dict: ``temporal_conv``, ``temporal_attention``, ``temporal_module`` and
        ``temporal_input`` arguments of :class:`UNet3DConditionModel`.
    """
    return dict(
        temporal_conv=dict(type='ModelScopeTemporalConv', dropout=0.1, norm_groups=norm_groups),
        temporal_attention=None,
        temporal_module=dict(type='TemporalTransformer', head_dim=head_dim,
                             norm_groups=norm_groups),
        temporal_input=dict(type='TemporalTransformer', head_dim=head_dim, num_heads=8,
                            norm_groups=norm_groups))


def rename_state_dict(state: Mapping[str, torch.Tensor], rule=DIFFUSERS_TO_VIDRD
                      ) -> Dict[str, torch.Tensor]:
    """Keys of a diffusers ``UNet3DConditionModel`` state dict -> ours (or back with
    ``VIDRD_TO_DIFFUSERS``).

    Args:
        state (Mapping[str, torch.Tensor]): the state dict.
        rule (tuple[re.Pattern, str]): the pattern and its replacement. Defaults to
            :data:`DIFFUSERS_TO_VIDRD`.

    Returns:
        dict[str, torch.Tensor]: the same tensors under the renamed keys.
    """
    pattern, replacement = rule
    return {pattern.sub(replacement, k): v for k, v in state.items()}


@MODELS.register_module(name='PretrainedModelScopeUNet3D')
def build_modelscope_unet(folder: str, trust_pickle: bool = False,
                          **overrides) -> UNet3DConditionModel:
    """The U-Net of a ModelScope T2V / Zeroscope diffusers folder (``unet/`` or its parent),
    every weight loaded by name; missing or unexpected keys are an error naming them.

    Registered in ``MODELS`` as ``PretrainedModelScopeUNet3D`` (the ``type`` configs use).

    Args:
        folder (str): the pipeline folder or its ``unet/`` (see
            :func:`vidrd.models.unets.loading.unet_folder`).
        trust_pickle (bool): allow a ``.bin`` that needs arbitrary code to load. Defaults to
            False.
        **overrides: constructor arguments (e.g. ``gradient_checkpointing=True``).

    Returns:
        UNet3DConditionModel: the U-Net with every weight loaded.

    Raises:
        WeightsNotFoundError: the folder, its ``config.json`` or its weights are missing.
        CheckpointMismatchError: the weights do not fit the architecture.
    """
    folder = unet_folder(folder, 'ModelScope U-Net folder', MODELSCOPE_HINT)
    config_path = require_path(osp.join(folder, 'config.json'), 'U-Net config.json',
                               MODELSCOPE_HINT)
    with open(config_path) as f:
        cfg = modelscope_unet_config(json.load(f), source=config_path)
    cfg.update(overrides)
    model = UNet3DConditionModel(**cfg)
    weights = find_weights_file(folder, WEIGHTS_NAMES, MODELSCOPE_HINT)
    state = load_state_dict(weights, trust_pickle=trust_pickle, hint=MODELSCOPE_HINT)
    load_into(model, rename_state_dict(state), source=weights)
    return model
