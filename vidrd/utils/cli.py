"""User errors on the command line: one clear line on stderr and exit code 2, no traceback.

Every ``tools/*.py`` ends with ``run_cli(main)``. A *user* error (the input is wrong, the code is
not) is printed as ``error: <one line>`` and the process exits with code 2; ``--debug`` (or
``VIDRD_DEBUG=1``) re-raises it with its traceback. User errors are:

- :class:`UserError` and its family (:class:`InvalidValueError`, :class:`NotACheckpointError`);
- a missing file or folder (``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError``);
- a checkpoint that is unsafe or does not fit (``UnsafeCheckpointError``,
  ``CheckpointMismatchError``);
- ``ValueError``: vidrd's convention for a value a user gave (a config entry, an argument);
- an unknown registry type (mmengine's ``KeyError``), reported with the closest registered names.

Anything else (``TypeError``, ``AttributeError``, ``RuntimeError``...) is a programming error and
keeps its traceback.
"""
import difflib
import os
import pickle
import re
import sys
from typing import Callable, Iterable, List, Optional


class UserError(Exception):
    """An error in what the user gave, reported without a traceback by :func:`run_cli`."""


class InvalidValueError(UserError, ValueError):
    """A value out of its range (``--num-clips 0``, a negative guidance scale...)."""


class NotACheckpointError(UserError, ValueError):
    """A file given as weights that is no checkpoint at all (text, an image, a truncated file)."""


def check_value(ok: bool, message: str) -> None:
    """Raise :class:`InvalidValueError` with ``message`` unless ``ok``."""
    if not ok:
        raise InvalidValueError(message)


_UNKNOWN_TYPE = re.compile(r"(\S+) is not in the (?:(\w+)::)?(.+?) registry")


def _registered_names(registry_name: str) -> List[str]:
    """Every name registered in vidrd's and mmengine's registries called ``registry_name``."""
    import mmengine.registry as mm_registry

    import vidrd.registry as vidrd_registry
    names = set()
    for module in (vidrd_registry, mm_registry):
        for registry in vars(module).values():
            if getattr(registry, 'name', None) != registry_name or not hasattr(
                    registry, 'module_dict'):
                continue
            try:
                registry.import_from_location()
            except Exception:  # noqa: BLE001 - a broken location must not hide the real error
                pass
            stack = [registry, *registry.children.values()]
            if registry.parent is not None:
                stack.append(registry.parent)
            for reg in stack:
                names.update(reg.module_dict)
    return sorted(names)


def close_names(name: str, candidates: Iterable[str], n: int = 3) -> List[str]:
    """Up to ``n`` of ``candidates`` spelled like ``name`` (case-insensitive, difflib)."""
    candidates = list(candidates)
    lower = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    return [lower[m] for m in matches]


def unknown_type_message(err: KeyError) -> Optional[str]:
    """A one-line message for mmengine's "X is not in the Y registry", with close names."""
    text = str(err.args[0]) if err.args else ''
    found = _UNKNOWN_TYPE.search(text)
    if found is None:
        return None
    name, scope, registry = found.group(1), found.group(2), found.group(3)
    registered = _registered_names(registry)
    if name in registered:  # registered, but looked up outside vidrd's scope
        return (f'type {name!r} was looked up in the {scope or "mmengine"}::{registry} registry; '
                "it is vidrd's: build it with default_scope='vidrd' (init_default_scope)")
    message = (f'unknown type {name!r}: nothing of that name is registered in the {registry} '
               'registry')
    suggestions = close_names(name, registered)
    if suggestions:
        message += '; did you mean ' + ' or '.join(repr(s) for s in suggestions) + '?'
    return message + ' (`python -m vidrd.registry` lists them; a plugin needs custom_imports)'


def user_error_message(err: BaseException) -> Optional[str]:
    """The one-line message of a user error, or None for a programming error."""
    from vidrd.utils.checkpoint import CheckpointMismatchError, UnsafeCheckpointError
    if isinstance(err, KeyError):
        return unknown_type_message(err)
    if isinstance(err, pickle.UnpicklingError):  # torch.load(weights_only=True) refused a class
        lines = [line.strip() for line in str(err).splitlines() if 'Unsupported' in line]
        return ('the checkpoint is a pickle that needs more than tensors to load; loading it '
                'could run arbitrary code' + (f' ({lines[0][:160]})' if lines else ''))
    if isinstance(err, (UserError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                        UnsafeCheckpointError, CheckpointMismatchError, ValueError)):
        text = str(err)
        if isinstance(err, OSError) and err.filename and err.strerror is not None:
            text = f'{err.strerror}: {err.filename!r}'
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # a line ending in ':' introduces the next ("do not exist: a = ...; b = ...")
        joined = ''
        for line in lines:
            joined += line if not joined else (' ' if joined.endswith(':') else '; ') + line
        return joined or type(err).__name__
    return None


def run_cli(main: Callable[[], object], argv: Optional[List[str]] = None) -> None:
    """Run a tool's ``main()``; print user errors as one line and exit with code 2.

    ``--debug`` is taken out of ``sys.argv`` (so the tool's parser never sees it) and makes user
    errors raise with their traceback, as programming errors always do.
    """
    argv = sys.argv if argv is None else argv
    debug = os.environ.get('VIDRD_DEBUG') == '1'
    if '--debug' in argv[1:]:
        argv[:] = [a for k, a in enumerate(argv) if k == 0 or a != '--debug']
        debug = True
    try:
        main()
    except Exception as err:  # noqa: BLE001 - sorted into user and programming errors below
        message = None if debug else user_error_message(err)
        if message is None:
            raise
        tool = os.path.basename(argv[0]) if argv else 'vidrd'
        print(f'{tool}: error: {message} (add --debug for the traceback)', file=sys.stderr)
        raise SystemExit(2) from None
