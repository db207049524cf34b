"""Checkpoints that hold what training changes, and that load with ``weights_only=True``."""
from typing import Dict

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.model import is_model_wrapper

from vidrd.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def _plain(value):
    """numpy scalars / arrays -> Python values / tensors (what a weights-only load accepts)."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def message_hub_to_plain(state: dict) -> dict:
    """mmengine's MessageHub state with every ``HistoryBuffer`` as a tagged dict of tensors."""
    scalars = {}
    for key, buf in state['log_scalars'].items():
        log, count = buf.data
        scalars[key] = {_BUFFER_TAG: True, 'log': torch.from_numpy(np.asarray(log, np.float64)),
                        'count': torch.from_numpy(np.asarray(count, np.float64)),
                        'max_length': int(buf.max_length)}
    return dict(log_scalars=scalars, runtime_info=_plain(dict(state['runtime_info'])),
                resumed_keys=dict(state['resumed_keys']))


def message_hub_from_plain(state: dict) -> dict:
    """Inverse of :func:`message_hub_to_plain` (other states pass through unchanged)."""
    scalars = {}
    for key, value in state['log_scalars'].items():
        if isinstance(value, dict) and value.get(_BUFFER_TAG):
            value = HistoryBuffer(value['log'].numpy().tolist(), value['count'].numpy().tolist(),
                                  value['max_length'])
        scalars[key] = value
    return dict(state, log_scalars=scalars)


@HOOKS.register_module()
class TrainableCheckpointHook(Hook):
    """Keep checkpoints to the trainable subset and safe to load.

    ``before_save_checkpoint``: drops every frozen parameter and buffer of the model from the
    checkpoint (the frozen SD-2.1 parts are rebuilt from the paths in the config), so a
    checkpoint of the SD-2.1 config is about the size of the trainable subset plus optimiser
    state; and rewrites mmengine's message-hub state with tensors and plain values only, so the
    file loads with ``torch.load(weights_only=True)`` (mmengine 0.10.7 stores ``HistoryBuffer``
    objects and numpy arrays, which PyTorch >= 2.6 refuses to unpickle by default).

    ``after_load_checkpoint``: restores the message hub and fills the frozen weights from the
    freshly built model, so resuming neither warns about nor loses them.

    Args:
        keep_frozen: key prefixes of frozen weights to keep anyway: those no file restores,
            e.g. a randomly initialised frozen text encoder of a model trained from scratch.
    """
    priority = 'VERY_LOW'  # after other hooks have added their entries

    def __init__(self, keep_frozen=()):
        self.keep_frozen = tuple(keep_frozen)

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = self._model(runner)
        keep = {name for name, p in model.named_parameters() if p.requires_grad}
        state: Dict[str, torch.Tensor] = checkpoint['state_dict']
        dropped = [k for k in state if k not in keep and not k.startswith(self.keep_frozen)]
        for key in dropped:
            del state[key]
        checkpoint['meta']['vidrd_frozen_keys'] = len(dropped)
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_to_plain(checkpoint['message_hub'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_from_plain(checkpoint['message_hub'])
        state = checkpoint.get('state_dict')
        if state is None:
            return
        prefix = 'module.' if next(iter(state), '').startswith('module.') else ''
        for name, tensor in self._model(runner).state_dict().items():
            state.setdefault(prefix + name, tensor)
