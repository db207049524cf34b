"""One set of precision names for ``--amp``, ``autocast_dtype`` and ``frozen_dtype``.

The tools' short names (``'bf16'``, ``'fp16'``, ``'fp32'``), torch's names (``'bfloat16'``,
``'float16'``, ``'float32'``) and the torch dtypes themselves all mean the same three precisions.
Every setting that takes a precision resolves it here, so a value is accepted or refused the
same way wherever it is given, with one line naming the value and the accepted names.

Autocast settings (``--amp``, ``autocast_dtype``) also take ``'auto'``: bf16 where it is
fast, fp32 elsewhere (:func:`choose_autocast`, the one resolver; the log says which and why).
"""
import os.path as osp
from typing import Dict, FrozenSet, Iterable, Optional, Tuple, Union

import torch

from vidrd.utils.errors import InvalidValueError
from vidrd.utils.logging import get_logger

#: accepted names -> dtype (short names first: they are what the tools print)
PRECISIONS: Dict[str, torch.dtype] = {
    'bf16': torch.bfloat16, 'fp16': torch.float16, 'fp32': torch.float32,
    'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': torch.float32}
#: dtype -> the short name the tools use
SHORT_NAMES: Dict[torch.dtype, str] = {torch.bfloat16: 'bf16', torch.float16: 'fp16',
                                       torch.float32: 'fp32'}

Precision = Union[str, torch.dtype, None]

#: the autocast setting that picks bf16 or fp32 from the hardware
AUTO = 'auto'
CPUINFO = '/proc/cpuinfo'


def precision_names() -> str:
    """The accepted names, for help texts and error messages."""
    return ', '.join(PRECISIONS)


def is_auto(value: Precision) -> bool:
    return isinstance(value, str) and value.strip().lower() == AUTO


_CPU_FLAGS: Dict[str, FrozenSet[str]] = {}


def cpu_flags(path: str = CPUINFO) -> FrozenSet[str]:
    """The CPU's feature flags (the ``flags`` line of /proc/cpuinfo; empty where there is none,
    e.g. not on Linux)."""
    if path not in _CPU_FLAGS:
        flags: FrozenSet[str] = frozenset()
        if osp.isfile(path):
            with open(path, encoding='utf-8', errors='replace') as f:
                for line in f:
                    if line.startswith('flags'):
                        flags = frozenset(line.split(':', 1)[1].split())
                        break
        _CPU_FLAGS[path] = flags
    return _CPU_FLAGS[path]


def choose_autocast(device=None, flags: Optional[Iterable[str]] = None,
                    cuda_bf16: Optional[bool] = None) -> Tuple[Optional[torch.dtype], str]:
    """What ``'auto'`` means on ``device``: ``(torch.bfloat16 or None for fp32, why)``.

    bf16 on a CUDA GPU that supports it, or on a CPU with AMX (the ``amx_bf16`` flag: its
    tile units multiply bf16 matrices several times faster than fp32 ones); fp32 otherwise (a
    CPU without AMX, even with ``avx512_bf16``, computes bf16 convolutions and attention
    slower than fp32 ones).

    Args:
        device: where the U-Net runs (default: CUDA when available, else the CPU).
        flags: the CPU's flags (default: :func:`cpu_flags` of this machine).
        cuda_bf16: whether the GPU supports bf16 (default: asked of torch).
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(device)
    if device.type == 'cuda':
        available = torch.cuda.is_available()
        if cuda_bf16 is None:
            cuda_bf16 = available and torch.cuda.is_bf16_supported()
        name = torch.cuda.get_device_name(device) if available else 'the CUDA GPU'
        if cuda_bf16:
            return torch.bfloat16, f'{name} supports bf16'
        return None, f'{name} does not support bf16'
    if device.type == 'cpu':
        flags = cpu_flags() if flags is None else frozenset(flags)
        if 'amx_bf16' in flags:
            return torch.bfloat16, 'the CPU has AMX (amx_bf16), whose bf16 matrix units are faster'
        has = 'avx512_bf16 but no AMX (amx_bf16)' if 'avx512_bf16' in flags else \
            'no AMX (amx_bf16)'
        return None, f'the CPU has {has}, where bf16 runs slower than fp32'
    return None, f'bf16 autocast is only chosen on CUDA GPUs and AMX CPUs, not on {device.type}'


_LOGGED = set()


def resolve_auto(setting: str = 'autocast_dtype', device=None) -> Optional[torch.dtype]:
    """``'auto'`` resolved for ``device`` (see :func:`choose_autocast`). With a device (where
    the U-Net runs: a sampler at the start of a run) the choice and its reason are logged,
    once per setting and device; without one the answer is provisional (a setting checked
    before the device is known) and not logged."""
    dtype, reason = choose_autocast(device)
    if device is None:
        return dtype
    where = str(torch.device(device))
    key = (setting, where, dtype)
    if key not in _LOGGED:
        _LOGGED.add(key)
        get_logger().info(f'{setting}=auto: {SHORT_NAMES.get(dtype, "fp32")} on {where}, as '
                          f'{reason}')
    return dtype


def resolve_precision(value: Precision, setting: str = 'precision') -> Optional[torch.dtype]:
    """The torch dtype of a precision name or dtype; None stays None (not set).

    Args:
        value: ``'bf16'``, ``'fp16'``, ``'fp32'``, ``'bfloat16'``, ``'float16'``,
            ``'float32'`` (any case), one of those torch dtypes, or None.
        setting: what the value was given as (``'--amp'``, ``'VidRD: frozen_dtype'``...), named
            in the error.

    Returns:
        torch.dtype or None: the dtype; None when ``value`` is None.

    Raises:
        InvalidValueError: any other value, in one line naming it and the accepted names.
    """
    if value is None:
        return None
    if isinstance(value, torch.dtype) and value in SHORT_NAMES:
        return value
    if isinstance(value, str) and value.strip().lower() in PRECISIONS:
        return PRECISIONS[value.strip().lower()]
    raise _refusal(value, setting)


def _refusal(value, setting: str, auto: bool = False) -> InvalidValueError:
    return InvalidValueError(f'{setting}={value!r} is not one of {precision_names()}'
                             + (f', {AUTO}' if auto else '')
                             + ' (or the torch dtypes bfloat16, float16, float32)',
                             parameter=setting)


def resolve_autocast(value: Precision, setting: str = 'autocast_dtype',
                     device=None) -> Optional[torch.dtype]:
    """The dtype to autocast to, or None for no autocast (None, ``'fp32'``, ``'float32'``).

    ``'auto'``: bf16 or None for ``device`` (default: CUDA when available, else the CPU),
    logged with the reason when ``device`` is given (:func:`resolve_auto`)."""
    if is_auto(value):
        return resolve_auto(setting, device)
    try:
        dtype = resolve_precision(value, setting)
    except InvalidValueError:
        raise _refusal(value, setting, auto=True) from None
    return None if dtype is torch.float32 else dtype


def short_name(value: Precision, setting: str = 'precision') -> Optional[str]:
    """``'bf16'`` / ``'fp16'`` / ``'fp32'`` for any accepted value (None stays None)."""
    dtype = resolve_precision(value, setting)
    return None if dtype is None else SHORT_NAMES[dtype]


def torch_name(value: Precision, setting: str = 'precision') -> Optional[str]:
    """``'bfloat16'`` / ``'float16'`` / ``'float32'`` (mmengine's ``AmpOptimWrapper.dtype``)."""
    dtype = resolve_precision(value, setting)
    return None if dtype is None else str(dtype).replace('torch.', '')
