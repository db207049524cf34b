"""``--device``: the one place a tool's device is chosen (``auto``: CUDA when present, else CPU).

Every tool with a ``--device`` argument (generate, app, compute_reference_stats,
cache_latents) adds it with :func:`add_device_argument` and resolves it with
:func:`resolve_device`, which logs the device it chose.
"""
import os

import torch

from vidrd.utils.errors import InvalidValueError
from vidrd.utils.logging import get_logger

AUTO = 'auto'
DEVICE_HELP = ('where the networks run: auto (default: CUDA when a GPU is present, else the '
               'CPU), cpu, cuda or cuda:N')


def add_device_argument(parser) -> None:
    """``--device`` with the default ``auto`` (see :func:`resolve_device`)."""
    parser.add_argument('--device', default=AUTO, help=DEVICE_HELP)


def _cuda_state() -> str:
    built = f'built with CUDA {torch.version.cuda}' if torch.version.cuda else \
        'a CPU-only build'
    return f'no CUDA device is available (torch {torch.__version__}, {built})'


def resolve_device(name: str = AUTO, setting: str = '--device', log: bool = True) -> str:
    """The device a tool runs on, checked: a missing GPU is a one-line error, not a traceback
    from the first tensor moved there.

    Args:
        name: ``'auto'`` (CUDA when available, else the CPU; under torchrun ``cuda:LOCAL_RANK``),
            ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        setting: how the user gave it, named in errors.
        log: log the device chosen (and the GPU's name).

    Returns:
        str: a torch device string (``'cpu'``, ``'cuda'``, ``'cuda:1'``).

    Raises:
        InvalidValueError: an unknown name, or a CUDA device that is not there.
    """
    text = str(name).strip().lower() if name is not None else AUTO
    if text == AUTO:
        if torch.cuda.is_available():
            local_rank = os.environ.get('LOCAL_RANK')
            device = f'cuda:{local_rank}' if local_rank is not None else 'cuda'
            index = int(local_rank) if local_rank is not None else torch.cuda.current_device()
            reason = f'{AUTO}: {torch.cuda.get_device_name(index)}'
        else:
            device, reason = 'cpu', f'{AUTO}: {_cuda_state()}'
    else:
        try:
            parsed = torch.device(text)
        except (RuntimeError, ValueError):
            parsed = None
        if parsed is None or parsed.type not in ('cpu', 'cuda'):
            raise InvalidValueError(f'{setting} {name!r} is not a device: use auto, cpu, cuda '
                                    'or cuda:N')
        if parsed.type == 'cuda':
            if not torch.cuda.is_available():
                raise InvalidValueError(f'{setting} {name}: {_cuda_state()}; use --device auto '
                                        'or cpu')
            if parsed.index is not None and parsed.index >= torch.cuda.device_count():
                raise InvalidValueError(f'{setting} {name}: there are only '
                                        f'{torch.cuda.device_count()} CUDA device(s)')
        device, reason = text, 'as given'
    if log:
        get_logger().info(f'device: {device} ({reason})')
    return device
