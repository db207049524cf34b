"""Build the video U-Net from Stable Diffusion folders and the original VidRD release."""
import json
import os.path as osp
from typing import Optional, Union

from torch import nn

from vidrd.registry import MODELS

from vidrd.utils.checkpoint import (LoadReport, WeightsNotFoundError, find_weights_file,
                                    load_into, load_state_dict, require_path, strip_prefix)

from .unet3d_condition import UNet3DConditionModel, is_temporal_key
from vidrd.utils.errors import InvalidValueError

SD21_HINT = ('Stable Diffusion 2.1-base weights come as a diffusers folder (unet/, vae/, '
             'text_encoder/, tokenizer/, scheduler/), e.g. the Hugging Face repository '
             'stabilityai/stable-diffusion-2-1-base; download it on a machine with internet '
             'and point the config at the local copy.')
VIDRD_HINT = ('The VidRD release ships ModelT2V.pth (U-Net + text encoder) and vae_finetuned/; '
              'download them from the authors\' release page and point the config at the files.')

# diffusers UNet2DConditionModel config keys -> ours (same meaning)
_SAME_KEYS = ('in_channels', 'out_channels', 'block_out_channels', 'down_block_types',
              'up_block_types', 'mid_block_type', 'layers_per_block', 'cross_attention_dim',
              'use_linear_projection', 'norm_num_groups', 'norm_eps', 'downsample_padding',
              'flip_sin_to_cos', 'freq_shift')
# settings of SD variants we do not implement; refuse rather than silently build another model
_UNSUPPORTED = dict(class_embed_type=None, num_class_embeds=None, addition_embed_type=None,
                    encoder_hid_dim=None, time_cond_proj_dim=None, dual_cross_attention=False,
                    only_cross_attention=False, resnet_time_scale_shift='default',
                    time_embedding_type='positional', center_input_sample=False,
                    conv_in_kernel=3, conv_out_kernel=3, mid_block_scale_factor=1,
                    transformer_layers_per_block=1)


def unet_config_from_diffusers(config: dict, source: str = 'config') -> dict:
    """Our constructor arguments from a diffusers ``UNet2DConditionModel`` ``config.json``.

    diffusers' 2D U-Net reads ``attention_head_dim`` as the number of heads (unless
    ``num_attention_heads`` is given); we call it ``num_attention_heads``.

    Args:
        config (dict): the parsed ``config.json``.
        source (str): where it came from, for error messages. Defaults to ``'config'``.

    Returns:
        dict: constructor arguments of :class:`UNet3DConditionModel` (the spatial part).

    Raises:
        ValueError: a setting of an SD variant vidrd does not implement (``_UNSUPPORTED``).
    """
    for key, default in _UNSUPPORTED.items():
        value = config.get(key, default)
        if value is not None and value != default and not (
                isinstance(value, (list, tuple)) and all(v == default for v in value)):
            raise InvalidValueError(f'{source}: {key}={value!r} is not supported by vidrd\'s U-Net '
                                    f'(expected {default!r}, as in Stable Diffusion 2.1)')
    ours = {k: config[k] for k in _SAME_KEYS if k in config}
    heads = config.get('num_attention_heads') or config.get('attention_head_dim', 8)
    ours['num_attention_heads'] = tuple(heads) if isinstance(heads, (list, tuple)) else heads
    for key in ('block_out_channels', 'down_block_types', 'up_block_types'):
        if key in ours:
            ours[key] = tuple(ours[key])
    return ours


def _read_unet_config(path: str) -> dict:
    """The constructor arguments of a diffusers U-Net config.

    Args:
        path (str): a ``unet/`` folder, its parent SD folder, or a ``config.json`` file.

    Returns:
        dict: see :func:`unet_config_from_diffusers`.
    """
    require_path(path, 'U-Net config', SD21_HINT)
    if osp.isdir(path):
        candidates = [osp.join(path, 'config.json'), osp.join(path, 'unet', 'config.json')]
        path = next((c for c in candidates if osp.isfile(c)), candidates[0])
        require_path(path, 'U-Net config.json', SD21_HINT)
    with open(path) as f:
        return unet_config_from_diffusers(json.load(f), source=path)


def unet_folder(path: str, what: str = 'Stable Diffusion U-Net folder',
                hint: Optional[str] = SD21_HINT) -> str:
    """The diffusers U-Net folder at ``path``: its ``unet/`` when that holds a ``config.json`` (a
    pipeline folder), else ``path`` itself when it holds one (a ``unet/`` folder).

    Args:
        path (str): a diffusers pipeline folder or its ``unet/`` folder.
        what (str): what the folder is, for the error message. Defaults to
            ``'Stable Diffusion U-Net folder'``.
        hint (str, optional): where to get the folder, for the error message. Defaults to
            :data:`SD21_HINT`.

    Returns:
        str: the folder holding the U-Net's ``config.json`` (and its weights).

    Raises:
        WeightsNotFoundError: ``path`` does not exist, or neither it nor its ``unet/`` holds a
            ``config.json``.
    """
    require_path(path, what, hint)
    for folder in (osp.join(path, 'unet'), path):
        if osp.isfile(osp.join(folder, 'config.json')):
            return folder
    raise WeightsNotFoundError(f'{what} {path!r}: no config.json in it nor in its unet/ (a '
                               'diffusers U-Net folder, or the pipeline folder holding it).'
                               + (f' {hint}' if hint else ''))


@MODELS.register_module(name='PretrainedUNet3D')
def build_unet_from_pretrained_2d(folder: str, trust_pickle: bool = False,
                                  **overrides) -> UNet3DConditionModel:
    """The video U-Net with an SD-2.x ``unet/`` folder's spatial weights; temporal layers at
    their init (zero-initialised outputs, so the model starts as the image model per frame).

    Registered in ``MODELS`` as ``PretrainedUNet3D`` (the ``type`` configs use).

    Args:
        folder (str): the SD pipeline folder or its ``unet/`` (see :func:`unet_folder`).
        trust_pickle (bool): allow a ``.bin`` that needs arbitrary code to load. Defaults to
            False.
        **overrides: constructor arguments (e.g. ``temporal_attention=None``).

    Returns:
        UNet3DConditionModel: the U-Net, spatial weights loaded.

    Raises:
        WeightsNotFoundError: the folder, its ``config.json`` or its weights are missing.
        ValueError: the weights already hold temporal layers (not an image U-Net).
    """
    folder = unet_folder(folder)
    cfg = _read_unet_config(folder)
    cfg.update(overrides)
    model = UNet3DConditionModel(**cfg)
    weights = find_weights_file(
        folder, ('diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin'), SD21_HINT)
    state = load_state_dict(weights, trust_pickle=trust_pickle, hint=SD21_HINT, lazy=True)
    temporal = [k for k in state if is_temporal_key(k)]
    if temporal:
        raise InvalidValueError(
            f'{weights} already holds temporal weights ({temporal[0]}, ...): it is not '
            'an image U-Net; load it with load_original_unet or our own checkpoints')
    load_into(model, state, source=weights, allow_missing=('temp_',))
    return model


@MODELS.register_module(name='OriginalVidRDUNet')
def load_original_unet(checkpoint: str, unet_config: Union[str, dict, None] = None,
                       trust_pickle: bool = False, **overrides) -> UNet3DConditionModel:
    """The U-Net of the original release's ``ModelT2V.pth`` (``{"state_dict": {"unet.*"}}``).

    Registered in ``MODELS`` as ``OriginalVidRDUNet`` (the ``type`` configs use).

    Args:
        checkpoint (str): path to ``ModelT2V.pth`` (or a safetensors file with the same keys).
        unet_config (str | dict, optional): the architecture: an SD ``unet/`` folder or
            ``config.json`` (diffusers format) or a dict of our constructor arguments.
            Defaults to None (our constructor's defaults, SD-2.1-base).
        trust_pickle (bool): allow a pickle that needs arbitrary code to load. Defaults to
            False.
        **overrides: constructor arguments; by default the released model's temporal layers
            (Temp-Conv, Temp-Attn with frame embedding at every level).

    Returns:
        UNet3DConditionModel: the U-Net with every weight loaded.

    Raises:
        KeyError: the checkpoint holds no ``unet.*`` keys.
        CheckpointMismatchError: the weights do not fit the architecture.
    """
    if isinstance(unet_config, str):
        cfg = _read_unet_config(unet_config)
    else:
        cfg = dict(unet_config or {})
    cfg.update(overrides)
    model = UNet3DConditionModel(**cfg)
    state = load_state_dict(checkpoint, trust_pickle=trust_pickle, hint=VIDRD_HINT)
    state = state.get('state_dict', state)
    unet_state = strip_prefix(state, 'unet.')
    if not unet_state:
        raise KeyError(f'{checkpoint}: no "unet.*" keys in its state_dict; is it a VidRD '
                       'ModelT2V.pth? (top-level keys: ' + ', '.join(list(state)[:5]) + ')')
    load_into(model, unet_state, source=checkpoint)
    return model


def load_unet_weights(model: nn.Module, checkpoint: str, prefix: str = '',
                      trust_pickle: bool = False, strict: bool = True) -> LoadReport:
    """Load our own checkpoint (safetensors / weights-only pickle) into ``model``.

    Args:
        model (nn.Module): the module to load into.
        checkpoint (str): the checkpoint file (a ``state_dict`` entry is unwrapped).
        prefix (str): keep only the keys under this prefix, without it. Defaults to ``''``.
        trust_pickle (bool): allow a pickle that needs arbitrary code to load. Defaults to
            False.
        strict (bool): missing or unexpected keys are an error. Defaults to True.

    Returns:
        LoadReport: what :func:`vidrd.utils.checkpoint.load_into` loaded and what did not fit.
    """
    state = load_state_dict(checkpoint, trust_pickle=trust_pickle)
    state = state.get('state_dict', state)
    if prefix:
        state = strip_prefix(state, prefix)
    return load_into(model, state, source=checkpoint, strict=strict)
