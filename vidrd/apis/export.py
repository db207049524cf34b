"""Standalone export: a trained model as one folder that loads on a machine without the
pretrained weights it was trained from.

Training checkpoints hold only what training changed; the frozen parts (SD-2.1's VAE, text
encoder, spatial U-Net) are rebuilt from the folders the config names. An export holds

- ``model.safetensors``: every weight of the model;
- ``config.py``: the config, with each model component that reads files (``PretrainedUNet3D``,
  ``PretrainedAutoencoderKL``, ``CLIPTextEncoder(pretrained=...)``, ...) replaced by the
  architecture it built (a component's ``export_config(folder)``), paths written relative to
  the export folder (``{{ fileDirname }}``), so the folder can be moved or shared;
- the small files those architectures need (text encoder ``config.json``, tokenizer files).

Load it like any config + checkpoint: ``load_generation_model('out/config.py',
'out/model.safetensors')`` or ``python tools/generate.py out/config.py out/model.safetensors``.
"""
import copy
import os
import os.path as osp
from typing import Any, Optional, Union

from mmengine.config import Config

from vidrd.utils.checkpoint import save_state_dict_atomic

from .generate import load_generation_config, load_generation_model

WEIGHTS = 'model.safetensors'
FILE_DIR = '{{ fileDirname }}'


def _relative_to(value: Any, folder: str) -> Any:
    """``value`` with every string path inside ``folder`` rewritten as ``{{ fileDirname }}/...``."""
    if isinstance(value, dict):
        return {k: _relative_to(v, folder) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_relative_to(v, folder) for v in value)
    if isinstance(value, str) and (value == folder or value.startswith(folder + os.sep)):
        return FILE_DIR + value[len(folder):]
    return value


def standalone_model_config(model, model_cfg: dict, folder: str) -> dict:
    """``model_cfg`` with each top-level component of ``model`` that has ``export_config``
    replaced by its architecture config (side files written under ``folder/<name>``)."""
    model_cfg = copy.deepcopy(dict(model_cfg))
    for name, module in model.named_children():
        if name in model_cfg and hasattr(module, 'export_config'):
            model_cfg[name] = module.export_config(osp.join(folder, name))
    return model_cfg


def export_standalone_model(config: Union[str, Config], checkpoint: Optional[str], out: str,
                            cfg_options: Optional[dict] = None) -> str:
    """Write ``out/model.safetensors`` + ``out/config.py`` (see the module docstring) for the
    model of ``config`` with ``checkpoint`` loaded; returns the weights' path."""
    cfg = config if isinstance(config, Config) else load_generation_config(
        config, cfg_options=cfg_options)
    model = load_generation_model(cfg, checkpoint)
    out = osp.abspath(out)
    os.makedirs(out, exist_ok=True)
    model_cfg = standalone_model_config(model, cfg.model, out)
    # tensors shared between modules are stored once per name
    state = {k: v.contiguous().clone() for k, v in model.state_dict().items()}
    weights = osp.join(out, WEIGHTS)
    save_state_dict_atomic(state, weights, metadata=dict(
        format='vidrd', source_config=str(cfg.filename), checkpoint=str(checkpoint)))
    exported = Config(dict(cfg.to_dict(), model=_relative_to(model_cfg, out),
                           standalone_weights=True))
    exported.dump(osp.join(out, 'config.py'))
    return weights
