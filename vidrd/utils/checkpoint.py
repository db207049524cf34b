"""Safe loading of weights a user names.

Weights named by a user (SD-2.1 folders, ``ModelT2V.pth``, ``load_from``, evaluator networks) are
untrusted: they are read with safetensors, or with ``torch.load(weights_only=True)``. A pickle
that needs more than tensors and plain containers is refused unless the caller passes
``trust_pickle=True`` explicitly.
"""
import os
import os.path as osp
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from .errors import (CheckpointError, CheckpointMismatchError,  # noqa: F401 (re-exported)
                     NotACheckpointError, UnsafeCheckpointError, WeightsNotFoundError)
from .io import atomic_write
from .logging import get_logger


def require_path(path: str, what: str = 'weights', hint: Optional[str] = None) -> str:
    """Return ``path`` if it exists, else raise an error naming it and where to get it."""
    if path is None or not osp.exists(path):
        msg = f'{what} not found: {path!r}.'
        if hint:
            msg += f' {hint}'
        raise WeightsNotFoundError(msg)
    return path


def find_weights_file(folder: str, names: Sequence[str], hint: Optional[str] = None) -> str:
    """The first of ``names`` that exists in ``folder`` (safetensors names should come first)."""
    require_path(folder, 'weights folder', hint)
    for name in names:
        path = osp.join(folder, name)
        if osp.isfile(path):
            return path
    raise WeightsNotFoundError(
        f'none of {list(names)} found in {folder!r}.' + (f' {hint}' if hint else ''))


class SafetensorsFile(Mapping):
    """A safetensors file as a read-only mapping that reads one tensor at a time.

    :func:`load_into` copies each tensor into the module and lets it go, so loading an fp16
    file into an fp32 model never holds a second copy of the whole state dict (1.7 GB for the
    SD-2.1 U-Net).
    """

    def __init__(self, path: str):
        from safetensors import safe_open
        self.path = path
        self._file = safe_open(path, 'pt', device='cpu')
        self._keys = list(self._file.keys())

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in self._keys:
            raise KeyError(key)
        return self._file.get_tensor(key)

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def shape(self, key: str) -> Tuple[int, ...]:
        return tuple(self._file.get_slice(key).get_shape())


def load_state_dict(path: str, trust_pickle: bool = False, hint: Optional[str] = None,
                    map_location: str = 'cpu', lazy: bool = False) -> Dict[str, torch.Tensor]:
    """Load a state dict (or a dict holding one) from ``path`` without running foreign code.

    safetensors files are read with safetensors; torch.save files with
    ``torch.load(weights_only=True)``. If that is refused because the pickle needs arbitrary
    classes, :class:`UnsafeCheckpointError` is raised unless ``trust_pickle=True``. A file that
    is neither (text, an image, a cut-off download) raises :class:`NotACheckpointError`.
    """
    require_path(path, 'weights file', hint)
    kind = checkpoint_format(path)
    if kind is None:
        raise NotACheckpointError(
            f'{path!r} is not a checkpoint (neither safetensors nor a torch.save file: it starts '
            f'with {_first_bytes(path)!r}); expected '
            + (hint or 'the .pth / .safetensors written by training'))
    if kind == 'safetensors' and lazy and map_location == 'cpu':
        return SafetensorsFile(path)  # tensors read one at a time by load_into
    if kind == 'safetensors':
        from safetensors.torch import load_file
        try:
            return load_file(path, device=map_location)
        except Exception as err:  # SafetensorError: a damaged or truncated file
            raise NotACheckpointError(f'{path!r} is not a readable safetensors file '
                                      f'({str(err).splitlines()[0]})') from err
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # the weights-only unpickler refused a class
        if not trust_pickle:
            raise UnsafeCheckpointError(
                f'{path!r} is a pickle that needs more than tensors to load ({type(err).__name__}: '
                f'{_unsupported(err)}). Loading it could run arbitrary code. Convert it to '
                'safetensors, or, only if you trust its source, pass trust_pickle=True '
                '(in a config: `trust_pickle=True` next to the checkpoint path).') from err
        get_logger().warning(f'loading {path!r} as a trusted full pickle (trust_pickle=True)')
        return torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError) as err:  # a damaged archive or a cut-off file
        raise NotACheckpointError(f'{path!r} is a damaged checkpoint and cannot be read '
                                  f'({str(err).splitlines()[0][:120]})') from err


def _first_bytes(path: str, count: int = 8) -> bytes:
    with open(path, 'rb') as f:
        return f.read(count)


def _unsupported(err: Exception) -> str:
    """The line of torch's long weights-only message that names what was refused."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    named = [line for line in lines if 'Unsupported' in line or 'GLOBAL' in line]
    return (named or lines or [''])[0].split('. Please')[0][:200]


def checkpoint_format(path: str) -> Optional[str]:
    """``'safetensors'``, ``'torch_zip'`` (torch.save), ``'pickle'`` (legacy torch.save) or None
    when the file's first bytes are none of these."""
    head = _first_bytes(path, 9)
    if len(head) == 9 and head[8:9] == b'{':
        header_size = struct.unpack('<Q', head[:8])[0]
        if 0 < header_size <= os.path.getsize(path) - 8:
            return 'safetensors'
    if head.startswith(b'PK'):
        if not zipfile.is_zipfile(path):
            return 'torch_zip'  # a cut-off archive: torch.load names the damage
        with zipfile.ZipFile(path) as archive:
            if any(name.endswith('data.pkl') for name in archive.namelist()):
                return 'torch_zip'
        return None
    if head[:1] == b'\x80':  # pickle protocol >= 2: torch.save's legacy format
        return 'pickle'
    return None


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    """Keys starting with ``prefix`` with the prefix removed; other keys are dropped."""
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


@dataclass
class LoadReport:
    """What happened when a state dict was loaded into a module."""
    source: str
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 20) -> str:
        def names(keys: Iterable[str]) -> str:
            keys = list(keys)
            more = f' ... and {len(keys) - limit} more' if len(keys) > limit else ''
            return ', '.join(keys[:limit]) + more

        lines = [f'{self.source}: loaded {len(self.loaded)} tensors']
        if self.missing:
            lines.append(f'  missing ({len(self.missing)}): {names(self.missing)}')
        if self.unexpected:
            lines.append(f'  unexpected ({len(self.unexpected)}): {names(self.unexpected)}')
        if self.mismatched:
            lines.append(f'  shape mismatch ({len(self.mismatched)}): ' + names(
                f'{k} (checkpoint {tuple(a)} vs model {tuple(b)})' for k, a, b in self.mismatched))
        return '\n'.join(lines)


def load_into(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str,
              strict: bool = True, allow_missing: Iterable[str] = ()) -> LoadReport:
    """Copy ``state_dict`` into ``module`` and report missing / unexpected / mismatched keys.

    Args:
        strict: raise :class:`CheckpointMismatchError` naming the keys if anything does not fit.
        allow_missing: substrings of parameter names that may be absent without error (e.g.
            ``'temp_'`` when loading 2D weights into the 3D model: temporal layers keep their init).
    """
    own = module.state_dict()
    allow_missing = tuple(allow_missing)
    report = LoadReport(source=source)
    to_load = {}
    lazy = isinstance(state_dict, SafetensorsFile)
    for key in state_dict:
        shape = state_dict.shape(key) if lazy else tuple(state_dict[key].shape)
        if key not in own:
            report.unexpected.append(key)
        elif tuple(own[key].shape) != shape:
            report.mismatched.append((key, shape, tuple(own[key].shape)))
        else:
            to_load[key] = None if lazy else state_dict[key]
    report.loaded = sorted(to_load)
    report.missing = sorted(k for k in own if k not in state_dict
                            and not any(s in k for s in allow_missing))
    if strict and not report.ok:
        raise CheckpointMismatchError(
            f'checkpoint does not fit {type(module).__name__}:\n{report.describe()}')
    if lazy:
        with torch.no_grad():  # one tensor at a time, straight into the parameter / buffer
            for key in to_load:
                own[key].copy_(state_dict[key])
    else:
        module.load_state_dict(to_load, strict=False)
    get_logger().info(report.describe())
    return report


def save_state_dict_atomic(state_dict: Mapping[str, torch.Tensor], path: str,
                           metadata: Optional[Dict[str, str]] = None) -> None:
    """Write ``state_dict`` as safetensors (or ``torch.save`` for other suffixes) atomically."""
    with atomic_write(path) as file:
        if path.endswith('.safetensors'):
            from safetensors.torch import save_file
            save_file({k: v.detach().contiguous().cpu() for k, v in state_dict.items()},
                      file.name, metadata=metadata)
        else:
            torch.save(dict(state_dict), file)
