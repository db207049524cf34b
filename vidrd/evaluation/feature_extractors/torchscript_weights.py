"""Read the weights of a TorchScript evaluation network into our own PyTorch module.

The community's FVD / IS detectors are TorchScript archives (``i3d_torchscript.pt`` of
StyleGAN-V, converted from the TF-Hub I3D; ``c3d_ucf101.pt``, converted from TGAN-v2's chainer
C3D). We only *read their tensors*; the computation is ours, so it does not depend on TorchScript.

How a TorchScript tensor finds its place in our module (first rule that places every tensor):

1. By name. A TorchScript key equals ours after (a) dropping a leading wrapper prefix
   (``module.``, ``model.``, ``net.``...), (b) renaming modules by the extractor's alias table
   (e.g. C3D's chainer names ``conv1a`` -> ``conv1``), (c) renaming the last component by
   :data:`LEAF_ALIASES` (``W`` -> ``weight``, ``gamma`` -> ``weight``, ``moving_mean`` ->
   ``running_mean``...). Shapes must agree.
2. By order. Tensors are grouped by the module that owns them (the key without its last
   component), in the order the archive stores them (registration order). A group's signature
   is the sorted list of its tensor shapes. Among groups of equal signature, the k-th of the
   archive maps to our k-th (so a converter that registered e.g. the classifier first, like
   ``pytorch_i3d`` does, still maps); the counts of each signature must agree. Inside a group,
   tensors pair up by their leaf aliases where those are known, else by position.
   ``num_batches_tracked`` counters are ignored.

Anything that does not fit raises :class:`CheckpointMismatchError` naming the first tensor that
did not fit, its shape and our expected one.
"""
import zipfile
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from vidrd.utils.checkpoint import CheckpointMismatchError, require_path
from vidrd.utils.logging import get_logger

#: our leaf name -> names other frameworks / converters use for it
LEAF_ALIASES = {
    'weight': ('weight', 'W', 'w', 'kernel', 'gamma', 'scale'),
    'bias': ('bias', 'b', 'beta', 'offset'),
    'running_mean': ('running_mean', 'moving_mean', 'avg_mean', 'mean'),
    'running_var': ('running_var', 'moving_variance', 'moving_var', 'avg_var', 'var'),
}
WRAPPER_PREFIXES = ('module.', 'model.', 'net.', 'network.', 'detector.', 'i3d.', 'c3d.')


def is_torchscript_archive(path: str) -> bool:
    """True for a TorchScript zip (it holds ``code/``); a ``torch.save`` zip has only data."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any('/code/' in name for name in archive.namelist())


def read_torchscript_tensors(path: str, hint: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """All parameters and buffers of the TorchScript module at ``path``, in archive order."""
    require_path(path, 'TorchScript weights file', hint)
    scripted = torch.jit.load(path, map_location='cpu')
    tensors = OrderedDict()
    for key, value in scripted.state_dict().items():
        if torch.is_tensor(value):
            tensors[key] = value.detach().clone()
    if not tensors:
        raise CheckpointMismatchError(
            f'{path}: the TorchScript module has no parameters or buffers (a frozen module keeps '
            'its weights as inlined constants, which cannot be mapped by name); use the '
            'network\'s state-dict release instead.' + (f' {hint}' if hint else ''))
    return tensors


def _leaf_to_ours(leaf: str) -> Optional[str]:
    for ours, aliases in LEAF_ALIASES.items():
        if leaf in aliases:
            return ours
    return None


def _normalise_key(key: str, module_aliases: Mapping[str, str]) -> str:
    key = key.replace('/', '.')  # chainer npz keys: 'conv1a/W'
    for prefix in WRAPPER_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    parts = key.split('.')
    parts = [module_aliases.get(part, part) for part in parts[:-1]] + [
        _leaf_to_ours(parts[-1]) or parts[-1]]
    return '.'.join(parts)


def rename_to_ours(state_dict: Mapping[str, torch.Tensor],
                   module_aliases: Mapping[str, str] = None) -> Dict[str, torch.Tensor]:
    """Rule 1 alone (prefixes, module and leaf aliases): for state dicts loaded strictly."""
    return {_normalise_key(k, dict(module_aliases or {})): v for k, v in state_dict.items()}


def _groups(keys: List[str]) -> 'OrderedDict[str, List[str]]':
    groups: 'OrderedDict[str, List[str]]' = OrderedDict()
    for key in keys:
        groups.setdefault(key.rpartition('.')[0], []).append(key)
    return groups


def _map_by_name(source, target, module_aliases, source_name: str
                 ) -> Optional[Dict[str, torch.Tensor]]:
    renamed = {_normalise_key(k, module_aliases): v for k, v in source.items()}
    if set(target) - set(renamed):
        return None
    if any(tuple(renamed[k].shape) != tuple(target[k].shape) for k in target):
        return None
    extra = sorted(set(renamed) - set(target))
    if extra:
        get_logger().warning(f'{source_name}: ignored tensors {extra[:10]} (no counterpart)')
    return {k: renamed[k] for k in target}


def _signature(keys, tensors) -> tuple:
    return tuple(sorted(tuple(tensors[k].shape) for k in keys))


def _map_by_order(source, target, source_name: str) -> Dict[str, torch.Tensor]:
    source_groups, target_groups = _groups(list(source)), _groups(list(target))
    queues: Dict[tuple, List[str]] = {}
    for module_name, keys in source_groups.items():
        queues.setdefault(_signature(keys, source), []).append(module_name)
    mapped = {}
    for dst_mod, dst_keys in target_groups.items():
        queue = queues.get(_signature(dst_keys, target))
        if not queue:
            shapes = [tuple(target[k].shape) for k in dst_keys]
            raise CheckpointMismatchError(
                f'{source_name}: no (more) module with tensors of shapes {shapes} for our '
                f'{dst_mod!r}; it is not the network this loader expects')
        src_keys = source_groups[queue.pop(0)]
        by_leaf = {_leaf_to_ours(k.rpartition('.')[2]): k for k in src_keys}
        if set(by_leaf) == {k.rpartition('.')[2] for k in dst_keys}:
            pairs = [(by_leaf[k.rpartition('.')[2]], k) for k in dst_keys]
        else:
            pairs = list(zip(src_keys, dst_keys))
        for src_key, dst_key in pairs:
            if tuple(source[src_key].shape) != tuple(target[dst_key].shape):
                raise CheckpointMismatchError(
                    f'{source_name}: {src_key!r} {tuple(source[src_key].shape)} would go to our '
                    f'{dst_key!r} {tuple(target[dst_key].shape)}; shapes differ')
            mapped[dst_key] = source[src_key]
    left = [name for queue in queues.values() for name in queue]
    if left:
        # every tensor of ours is placed; extra ones are the archive's own preprocessing constants
        get_logger().warning(f'{source_name}: ignored tensors of {left[:10]} (no counterpart)')
    return mapped


def map_tensors_to_module(source: Mapping[str, torch.Tensor], module: nn.Module,
                          source_name: str, module_aliases: Mapping[str, str] = None
                          ) -> Tuple[Dict[str, torch.Tensor], str]:
    """Rename ``source`` tensors to ``module``'s state-dict keys (rules in the module docstring).

    Returns:
        ``(state_dict, how)`` with ``how`` ``'name'`` or ``'order'``.
    """
    module_aliases = dict(module_aliases or {})
    skip = 'num_batches_tracked'
    source = OrderedDict((k, v) for k, v in source.items() if not k.endswith(skip))
    target = OrderedDict((k, v) for k, v in module.state_dict().items() if not k.endswith(skip))
    mapped = _map_by_name(source, target, module_aliases, source_name)
    if mapped is not None:
        return mapped, 'name'
    return _map_by_order(source, target, source_name), 'order'
