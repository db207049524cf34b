"""One set of precision names for ``--amp``, ``autocast_dtype`` and ``frozen_dtype``.

The tools' short names (``'bf16'``, ``'fp16'``, ``'fp32'``), torch's names (``'bfloat16'``,
``'float16'``, ``'float32'``) and the torch dtypes themselves all mean the same three precisions.
Every setting that takes a precision resolves it here, so a value is accepted or refused the
same way wherever it is given, with one line naming the value and the accepted names.
"""
from typing import Dict, Optional, Union

import torch

from vidrd.utils.cli import InvalidValueError

#: accepted names -> dtype (short names first: they are what the tools print)
PRECISIONS: Dict[str, torch.dtype] = {
    'bf16': torch.bfloat16, 'fp16': torch.float16, 'fp32': torch.float32,
    'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': torch.float32}
#: dtype -> the short name the tools use
SHORT_NAMES: Dict[torch.dtype, str] = {torch.bfloat16: 'bf16', torch.float16: 'fp16',
                                       torch.float32: 'fp32'}

Precision = Union[str, torch.dtype, None]


def precision_names() -> str:
    """The accepted names, for help texts and error messages."""
    return ', '.join(PRECISIONS)


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
    raise InvalidValueError(f'{setting}={value!r} is not one of {precision_names()} (or the '
                            'torch dtypes bfloat16, float16, float32)')


def resolve_autocast(value: Precision, setting: str = 'autocast_dtype') -> Optional[torch.dtype]:
    """The dtype to autocast to, or None for no autocast (None, ``'fp32'``, ``'float32'``)."""
    dtype = resolve_precision(value, setting)
    return None if dtype is torch.float32 else dtype


def short_name(value: Precision, setting: str = 'precision') -> Optional[str]:
    """``'bf16'`` / ``'fp16'`` / ``'fp32'`` for any accepted value (None stays None)."""
    dtype = resolve_precision(value, setting)
    return None if dtype is None else SHORT_NAMES[dtype]


def torch_name(value: Precision, setting: str = 'precision') -> Optional[str]:
    """``'bfloat16'`` / ``'float16'`` / ``'float32'`` (mmengine's ``AmpOptimWrapper.dtype``)."""
    dtype = resolve_precision(value, setting)
    return None if dtype is None else str(dtype).replace('torch.', '')
