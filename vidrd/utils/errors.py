"""vidrd's error taxonomy: one root, :class:`UserError`, for everything a user can fix.

A *user* error means the input is wrong, not the code: a value out of its range, a config entry
that does not fit, a data file that cannot be read as what it should be, weights that are missing,
unsafe or do not fit. Its message says what is wrong and what to do. The tools
(:func:`vidrd.utils.cli.run_cli`) print it as one line without a traceback; any other exception
is a bug and keeps its traceback.

Library code names *parameters* in its messages (``num must be >= 1``), never command-line
flags: a tool gives the error's :attr:`UserError.parameter` names its own flags (``--num``).

The classes keep the builtin base a caller may already catch as a second base
(``except ValueError``, ``except FileNotFoundError``)::

    UserError
    ├── InvalidValueError (ValueError)    a value out of its range or not one of its choices
    │   └── ConfigError                   a config that lacks or misplaces an entry
    ├── DataError (ValueError)            a data file (annotation, table, prompts) that is wrong
    ├── InputNotFoundError (FileNotFoundError)   a file or folder a user named is not there
    └── CheckpointError                   weights a user names
        ├── WeightsNotFoundError (FileNotFoundError)
        ├── NotACheckpointError (ValueError)
        ├── UnsafeCheckpointError (RuntimeError)
        └── CheckpointMismatchError (RuntimeError)
"""
from typing import Optional, Sequence, Tuple, Union

__all__ = [
    'UserError', 'InvalidValueError', 'ConfigError', 'DataError', 'InputNotFoundError',
    'CheckpointError',
    'WeightsNotFoundError', 'NotACheckpointError', 'UnsafeCheckpointError',
    'CheckpointMismatchError', 'check_value'
]


class UserError(Exception):
    """An error in what the user gave; its message says what to do.

    Args:
        message (str): one or more lines; :func:`vidrd.utils.cli.run_cli` joins them into one.
        parameter (str | Sequence[str], optional): the parameter(s) the message names, by their
            library name (``'num_clips'``). A tool replaces them by its flags (``--num-clips``).
            Defaults to None (no parameter).
    """

    def __init__(self, *args, parameter: Union[str, Sequence[str], None] = None):
        super().__init__(*args)
        self.parameter = parameter

    @property
    def parameters(self) -> Tuple[str, ...]:
        """The names in :attr:`parameter` as a tuple (empty without one)."""
        if self.parameter is None:
            return ()
        if isinstance(self.parameter, str):
            return (self.parameter, )
        return tuple(self.parameter)


class InvalidValueError(UserError, ValueError):
    """A value out of its range or not one of its choices (``num_clips=0``, a negative guidance
    scale, an unknown device name)."""


class ConfigError(InvalidValueError):
    """A config that lacks an entry a tool needs or holds one that does not fit (no
    ``train_dataloader.dataset``, no ``long_video_sampler``)."""


class DataError(UserError, ValueError):
    """A data file a user gave (annotation, image-text table, prompt file, segments file) that
    does not hold what it should: a missing column, a malformed row, an unknown extension."""


class InputNotFoundError(UserError, FileNotFoundError):
    """A file or folder a user named (a config, a ``strategy``, a data folder) is not there."""


class CheckpointError(UserError):
    """Weights a user names (a checkpoint, a pretrained folder) that cannot be used."""


class WeightsNotFoundError(CheckpointError, FileNotFoundError):
    """A weights file or folder a config names does not exist."""


class NotACheckpointError(CheckpointError, ValueError):
    """A file given as weights that is no checkpoint at all (text, an image, a truncated file)."""


class UnsafeCheckpointError(CheckpointError, RuntimeError):
    """A pickle needs arbitrary code to load and the user did not say it is trusted."""


class CheckpointMismatchError(CheckpointError, RuntimeError):
    """A state dict does not fit a module (missing / unexpected / wrong-shaped keys)."""


def check_value(ok: bool, message: str, parameter: Optional[Union[str, Sequence[str]]] = None
                ) -> None:
    """Raise :class:`InvalidValueError` unless ``ok``.

    Args:
        ok (bool): whether the value is acceptable.
        message (str): what is wrong, naming the parameter (not a flag).
        parameter (str | Sequence[str], optional): the parameter(s) named in ``message``, for
            the tools to show as flags. Defaults to None.

    Raises:
        InvalidValueError: when ``ok`` is false.
    """
    if not ok:
        raise InvalidValueError(message, parameter=parameter)
