"""Reading and writing VAE folders: diffusers' ``vae/`` and the VidRD release's ``vae_finetuned/``.

Both are ``config.json`` + ``diffusion_pytorch_model.safetensors`` (or ``.bin``). The release's
config says ``"_class_name": "TemporalAutoencoderKL", "add_temp_conv": true`` and its weights
use diffusers 0.14's attention names (``query``/``key``/``value``/``proj_attn``), which are
renamed here to the current ones (``to_q``/``to_k``/``to_v``/``to_out.0``).
"""
import json
import os
import os.path as osp
import re
from typing import Dict, Mapping, Tuple

import torch

from vidrd.utils.checkpoint import WeightsNotFoundError, require_path
from vidrd.utils.errors import DataError, InvalidValueError
from vidrd.utils.io import atomic_write

CONFIG_NAME = 'config.json'
WEIGHTS_NAME = 'diffusion_pytorch_model.safetensors'
WEIGHTS_NAMES = (WEIGHTS_NAME, 'diffusion_pytorch_model.bin',
                 'diffusion_pytorch_model.fp16.safetensors', 'diffusion_pytorch_model.fp16.bin')
CLASS_NAMES = ('AutoencoderKL', 'TemporalAutoencoderKL')
TEMPORAL_CLASS_NAME = 'TemporalAutoencoderKL'

VAE_WEIGHTS_HINT = (
    'A VAE folder holds config.json and diffusion_pytorch_model.safetensors (or .bin). '
    'The SD-2.1 VAE is the `vae/` folder of the Hugging Face repository '
    'stabilityai/stable-diffusion-2-1-base; VidRD\'s temporal VAE is the `vae_finetuned/` folder '
    'of the VidRD release. Download it yourself and point the config at the folder '
    '(vidrd never downloads weights).')

# VidRD's decoder Temp-Conv: the U-Net's stack with 3 layers instead of 4 (original release)
VIDRD_TEMPORAL_CONV = dict(type='TemporalConv', num_layers=3)

# constructor arguments of AutoencoderKL read from / written to config.json
CONFIG_KEYS = ('in_channels', 'out_channels', 'down_block_types', 'up_block_types',
               'block_out_channels', 'layers_per_block', 'act_fn', 'latent_channels',
               'norm_num_groups', 'sample_size', 'scaling_factor', 'shift_factor',
               'mid_block_add_attention', 'use_quant_conv', 'use_post_quant_conv',
               'temporal_conv')
# diffusers keys that change nothing for inference in float32 / that we do not use
IGNORED_KEYS = ('force_upcast', 'latents_mean', 'latents_std')

_LEGACY_ATTENTION = re.compile(
    r'^(.*\.attentions\.\d+)\.(query|key|value|proj_attn)\.(weight|bias)$')
_LEGACY_TO_CURRENT = dict(query='to_q', key='to_k', value='to_v', proj_attn='to_out.0')


def read_vae_config(folder: str) -> dict:
    """``config.json`` of a VAE folder as constructor arguments of ``AutoencoderKL``.

    ``add_temp_conv: true`` (the release's flag) becomes ``temporal_conv=VIDRD_TEMPORAL_CONV``
    unless the file names its own ``temporal_conv``. Unknown keys are an error naming them.
    """
    require_path(folder, 'VAE folder', VAE_WEIGHTS_HINT)
    path = osp.join(folder, CONFIG_NAME)
    if not osp.isfile(path):
        sub = osp.join(folder, 'vae', CONFIG_NAME)
        extra = (f' It looks like a whole pipeline folder: use {osp.join(folder, "vae")!r}.'
                 if osp.isfile(sub) else '')
        raise WeightsNotFoundError(f'VAE config not found: {path!r}.{extra} {VAE_WEIGHTS_HINT}')
    with open(path, encoding='utf-8') as f:
        try:
            raw = json.load(f)
        except json.JSONDecodeError as err:
            raise DataError(f'{path!r} is not valid JSON: {err}') from err
    class_name = raw.get('_class_name', 'AutoencoderKL')
    if class_name not in CLASS_NAMES:
        raise InvalidValueError(
            f'{path!r} describes a {class_name!r}, not a VAE ({list(CLASS_NAMES)}); '
            'point the config at the `vae/` (or `vae_finetuned/`) folder')
    config = {}
    unknown = []
    for key, value in raw.items():
        if key.startswith('_') or key in IGNORED_KEYS or key == 'add_temp_conv':
            continue
        if key in CONFIG_KEYS:
            config[key] = tuple(value) if isinstance(value, list) else value
        else:
            unknown.append(key)
    if unknown:
        raise InvalidValueError(
            f'{path!r} has keys this AutoencoderKL does not know: {unknown}. '
            f'Known: {list(CONFIG_KEYS)} (+ add_temp_conv, {list(IGNORED_KEYS)})')
    if raw.get('add_temp_conv', False) and 'temporal_conv' not in config:
        config['temporal_conv'] = dict(VIDRD_TEMPORAL_CONV)
    return config


def write_vae_config(config: Mapping, folder: str) -> str:
    """Write ``config.json`` like the release's ``vae_finetuned/`` (atomic); return its path."""
    out = {'_class_name': TEMPORAL_CLASS_NAME if config.get('temporal_conv') else 'AutoencoderKL'}
    for key in CONFIG_KEYS:
        value = config.get(key)
        if key == 'temporal_conv':
            if value:
                out['add_temp_conv'] = True
                if dict(value) != VIDRD_TEMPORAL_CONV:  # the release's flag cannot say this
                    out['temporal_conv'] = dict(value)
            continue
        if key == 'shift_factor' and value is None:
            continue
        if key in ('mid_block_add_attention', 'use_quant_conv', 'use_post_quant_conv') and value:
            continue  # defaults; diffusers 0.14 does not know these keys
        out[key] = list(value) if isinstance(value, tuple) else value
    out = dict(sorted(out.items()))
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, CONFIG_NAME)
    with atomic_write(path, 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    return path


def convert_legacy_attention_keys(
        state_dict: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], int]:
    """Rename diffusers <= 0.14 VAE attention keys to the current names.

    ``*.attentions.i.query/key/value/proj_attn.*`` -> ``to_q/to_k/to_v/to_out.0``; 1x1-conv shaped
    weights (C, C, 1, 1) become linear (C, C). Returns the new dict and how many keys changed.
    """
    out, renamed = {}, 0
    for key, value in state_dict.items():
        match = _LEGACY_ATTENTION.match(key)
        if match:
            prefix, name, kind = match.groups()
            key = f'{prefix}.{_LEGACY_TO_CURRENT[name]}.{kind}'
            if kind == 'weight' and value.dim() == 4:
                value = value[:, :, 0, 0]
            renamed += 1
        out[key] = value
    return out, renamed


def to_legacy_attention_keys(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The inverse renaming, for folders the original code (diffusers 0.14) must read."""
    current_to_legacy = {v: k for k, v in _LEGACY_TO_CURRENT.items()}
    pattern = re.compile(r'^(.*\.attentions\.\d+)\.(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$')
    out = {}
    for key, value in state_dict.items():
        match = pattern.match(key)
        if match:
            prefix, name, kind = match.groups()
            key = f'{prefix}.{current_to_legacy[name]}.{kind}'
        out[key] = value
    return out


def check_not_ldm_layout(state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse CompVis / LDM-layout VAE checkpoints with a pointer to a converter."""
    if any(k.startswith(('encoder.down.', 'first_stage_model.')) for k in state_dict):
        raise InvalidValueError(
            f'{source!r} is in the original CompVis/LDM layout (encoder.down.*), not the diffusers '
            'layout this loader reads; convert it with diffusers '
            '(AutoencoderKL.from_single_file) and save_pretrained, then point at that folder')
