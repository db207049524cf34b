"""Standalone export: a trained model as one folder that loads on a machine without the
pretrained weights it was trained from.

Training checkpoints hold only what training changed; the frozen parts (SD-2.1's VAE, text
encoder, spatial U-Net) are rebuilt from the folders the config names. An export holds

- ``model.safetensors``: every weight of the model;
- ``config.py``: the config, with each model component that reads files (``PretrainedUNet3D``,
  ``PretrainedAutoencoderKL``, ``CLIPTextEncoder(pretrained=...)``, ...) replaced by the
  architecture it built (a component's ``export_config(folder)``, :class:`ExportableComponent`),
  paths written relative to the export folder (``{{ fileDirname }}``), so the folder can be
  moved or shared;
- the small files those architectures need (text encoder ``config.json``, tokenizer files).

Load it like any config + checkpoint: ``load_generation_model('out/config.py',
'out/model.safetensors')`` or ``python tools/generate.py out/config.py out/model.safetensors``.
"""
import copy
import os
import os.path as osp
from typing import Any, Optional, Protocol, Union, runtime_checkable

from mmengine.config import Config

from vidrd.utils.checkpoint import save_state_dict_atomic

from .generate import load_generation_config, load_generation_model

WEIGHTS = 'model.safetensors'
FILE_DIR = '{{ fileDirname }}'


@runtime_checkable
class ExportableComponent(Protocol):
    """A model component an export can rebuild without the files it was built from.

    ``export_config(folder)`` returns a config that rebuilds the component's architecture
    (weights come separately, from ``model.safetensors``). ``folder`` is the component's own
    folder inside the export, where it writes the files that config reads (a text encoder's
    ``config.json``, a tokenizer's vocabulary) and names them by path. A component whose config
    holds everything inline (the U-Net's and the VAE's constructor arguments, a word
    tokenizer's vocabulary) writes nothing there: the folder is an offer, not an obligation,
    and stays absent.
    """

    def export_config(self, folder: str) -> dict:
        """The config that rebuilds this component.

        Args:
            folder (str): where the component may write the files its config reads (created
                by the component when it writes any).

        Returns:
            dict: a config with ``type``; paths in it point inside ``folder``.
        """


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
    """``model_cfg`` with each top-level component of ``model`` that is an
    :class:`ExportableComponent` replaced by its architecture config.

    Args:
        model (torch.nn.Module): the built model.
        model_cfg (dict): the config it was built from.
        folder (str): the export folder; component ``name`` may write its files under
            ``folder/<name>``.

    Returns:
        dict: a copy of ``model_cfg`` with those components replaced.
    """
    model_cfg = copy.deepcopy(dict(model_cfg))
    for name, module in model.named_children():
        if name in model_cfg and isinstance(module, ExportableComponent):
            model_cfg[name] = module.export_config(osp.join(folder, name))
    return model_cfg


def export_standalone_model(config: Union[str, Config], checkpoint: Optional[str], out: str,
                            cfg_options: Optional[dict] = None) -> str:
    """Write ``out/model.safetensors`` + ``out/config.py`` (see the module docstring) for the
    model of ``config`` with ``checkpoint`` loaded.

    Args:
        config (str | Config): the model's config (file or loaded).
        checkpoint (str, optional): the trained checkpoint; None exports the config's weights.
        out (str): the export folder (created).
        cfg_options (dict, optional): overrides of a config file's entries. Defaults to None.

    Returns:
        str: the path of ``model.safetensors``.
    """
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
