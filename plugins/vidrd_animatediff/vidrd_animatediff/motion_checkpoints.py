"""Real AnimateDiff motion-module weights in vidrd's names: the original ``mm_sd_v15*.ckpt``
layout and diffusers' ``MotionAdapter`` folders.

vidrd keeps a U-Net level's motion modules as ``temp_modules.M`` (see ``AnimateDiffUNet``), and
names their insides as the original release does, so the key maps are (``L`` = ``down_blocks.N``,
``mid_block`` or ``up_blocks.N``; ``K`` = transformer block)::

    original  L.motion_modules.M.temporal_transformer.X           -> L.temp_modules.M.X
    diffusers L.motion_modules.M.X, and inside transformer_blocks.K:
              attn1 -> attention_blocks.0    norm1 -> norms.0
              attn2 -> attention_blocks.1    norm2 -> norms.1    norm3 -> ff_norm

The sinusoidal position tables (original ``...attention_blocks.A.pos_encoder.pe``, diffusers
``...transformer_blocks.K.pos_embed.pe``) are not weights: the motion module recomputes them;
each is checked against that formula, and a table that differs (a learned one) is an error.
"""
import json
import os.path as osp
import re
from typing import Dict, Mapping, Optional, Tuple

import torch

from vidrd.models.temporal import frame_position_embedding
from vidrd.utils.checkpoint import find_weights_file, load_state_dict, require_path
from vidrd.utils.errors import InvalidValueError

MOTION_HINT = ('AnimateDiff motion modules are the original release\'s mm_sd_v15.ckpt / '
               'mm_sd_v15_v2.ckpt (github.com/guoyww/AnimateDiff) or a diffusers MotionAdapter '
               'folder (config.json + diffusion_pytorch_model.safetensors, e.g. '
               'guoyww/animatediff-motion-adapter-v1-5-2); download one and name it in the config.')
WEIGHTS_NAMES = ('diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin')

_LEVEL = r'^((?:down_blocks\.\d+)|mid_block|(?:up_blocks\.\d+))'
ORIGINAL_KEY = re.compile(_LEVEL + r'\.motion_modules\.(\d+)\.temporal_transformer\.(.+)$')
DIFFUSERS_KEY = re.compile(_LEVEL + r'\.motion_modules\.(\d+)\.(.+)$')
#: inside a diffusers transformer block -> inside ours (the original names)
DIFFUSERS_BLOCK_NAMES = {'attn1': 'attention_blocks.0', 'norm1': 'norms.0',
                         'attn2': 'attention_blocks.1', 'norm2': 'norms.1', 'norm3': 'ff_norm'}
_BLOCK_PART = re.compile(r'^(transformer_blocks\.\d+)\.([a-z_0-9]+)\.(.+)$')
_POSITION_TABLE = re.compile(r'\.(pos_encoder|pos_embed)\.pe$')


def _check_position_table(key: str, table: torch.Tensor, source: str) -> None:
    """A (1, L, C) table must be the fixed sinusoidal one the module recomputes."""
    _, length, dim = table.shape
    expected = frame_position_embedding(length, dim)
    if not torch.allclose(table.float(), expected, atol=1e-4):
        raise InvalidValueError(f'{source}: {key} is not the sinusoidal position table the motion '
                                'module computes (a learned table is not supported)')


def to_vidrd_names(state: Mapping[str, torch.Tensor], source: str = 'checkpoint'
                   ) -> Tuple[Dict[str, torch.Tensor], str, list]:
    """Motion-module weights in vidrd's names.

    Returns ``(state, layout, unexpected)``: ``layout`` is ``'original'`` or ``'diffusers'``;
    ``unexpected`` names the keys that are no motion-module weight of either layout.
    """
    original = any(ORIGINAL_KEY.match(k) for k in state)
    ours, unexpected = {}, []
    for key, value in state.items():
        if _POSITION_TABLE.search(key):
            _check_position_table(key, value, source)
            continue
        match = (ORIGINAL_KEY if original else DIFFUSERS_KEY).match(key)
        if match is None:
            unexpected.append(key)
            continue
        level, index, rest = match.groups()
        if not original:
            part = _BLOCK_PART.match(rest)
            if part is not None and part.group(2) in DIFFUSERS_BLOCK_NAMES:
                rest = f'{part.group(1)}.{DIFFUSERS_BLOCK_NAMES[part.group(2)]}.{part.group(3)}'
        ours[f'{level}.temp_modules.{index}.{rest}'] = value
    return ours, ('original' if original else 'diffusers'), unexpected


def read_motion_checkpoint(path: str, trust_pickle: bool = False
                           ) -> Tuple[Dict[str, torch.Tensor], Optional[dict], str]:
    """``(state dict as stored, MotionAdapter config or None, file read)`` of a motion-module
    file (``.ckpt`` / ``.safetensors``) or a diffusers ``MotionAdapter`` folder."""
    require_path(path, 'AnimateDiff motion module', MOTION_HINT)
    config = None
    if osp.isdir(path):
        config_path = require_path(osp.join(path, 'config.json'), 'MotionAdapter config.json',
                                   MOTION_HINT)
        with open(config_path) as f:
            config = json.load(f)
        path = find_weights_file(path, WEIGHTS_NAMES, MOTION_HINT)
    state = load_state_dict(path, trust_pickle=trust_pickle, hint=MOTION_HINT)
    state = state.get('state_dict', state)
    return {k: v for k, v in state.items() if torch.is_tensor(v)}, config, path
