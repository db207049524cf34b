"""User errors on the command line: one clear line on stderr and exit code 2, no traceback.

Every ``tools/*.py`` ends with ``run_cli(main)``. A *user* error (the input is wrong, the code is
not) is printed as ``error: <one line>`` and the process exits with code 2; ``--debug`` (or
``VIDRD_DEBUG=1``) re-raises it with its traceback. User errors are:

- :class:`~vidrd.utils.errors.UserError` and every error of vidrd's taxonomy, which all subclass
  it (:mod:`vidrd.utils.errors`: invalid values, configs, data files, checkpoints);
- the few errors of Python, torch and mmengine that only a user's input raises: a missing file or
  folder (``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError``), a pickle that the
  weights-only unpickler refused (``pickle.UnpicklingError``) and an unknown registry type
  (mmengine's ``KeyError``, reported with the closest registered names).

Anything else, a plain ``ValueError`` included, is a programming error and keeps its traceback:
library code that refuses a user's value raises a :class:`~vidrd.utils.errors.UserError`.

Library messages name parameters (``num must be >= 1``); a tool shows them as its flags
(``--num must be >= 1``): ``run_cli(main, flags={'num_frames': '--frames'})`` maps an error's
``parameter`` to a flag, and a parameter ``foo_bar`` the user gave as ``--foo-bar`` is shown as
that flag without a mapping.
"""
import difflib
import os
import pickle
import re
import sys
from typing import Callable, Iterable, List, Mapping, Optional, Sequence

# the taxonomy lives in vidrd.utils.errors; these names stay importable from here
from vidrd.utils.errors import (InvalidValueError, NotACheckpointError, UserError,  # noqa: F401
                                check_value)

#: errors of Python itself that only a user's input raises here: a path that is not there
_MISSING_PATH = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


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


def flag_names(message: str, parameters: Sequence[str],
               flags: Optional[Mapping[str, str]] = None, argv: Sequence[str] = ()) -> str:
    """``message`` with each of ``parameters`` written as the tool's flag.

    Args:
        message (str): a library message naming parameters (``'num must be >= 1, got 0'``).
        parameters (Sequence[str]): the parameter names the message holds.
        flags (Mapping[str, str], optional): parameter name -> flag (``{'num_frames':
            '--frames'}``). Defaults to None.
        argv (Sequence[str]): the command line; a parameter ``foo_bar`` not in ``flags`` becomes
            ``--foo-bar`` if the user gave that option. Defaults to ().

    Returns:
        str: the message with the flags (``'--num must be >= 1, got 0'``); names without a flag
        stay as they are.
    """
    flags = flags or {}
    for name in parameters:
        flag = flags.get(name)
        if flag is None:
            guess = '--' + name.replace('_', '-')
            if any(arg == guess or arg.startswith(guess + '=') for arg in argv):
                flag = guess
        if flag:  # the name as a word of its own, not part of a path, a key or another name
            message = re.sub(rf'(?<![\w.\-/]){re.escape(name)}(?![\w\-])', flag, message)
    return message


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # a line ending in ':' introduces the next ("do not exist: a = ...; b = ...")
    joined = ''
    for line in lines:
        joined += line if not joined else (' ' if joined.endswith(':') else '; ') + line
    return joined


def user_error_message(err: BaseException, flags: Optional[Mapping[str, str]] = None,
                       argv: Sequence[str] = ()) -> Optional[str]:
    """The one-line message of a user error, or None for a programming error.

    Args:
        err (BaseException): the exception a tool's ``main`` raised.
        flags (Mapping[str, str], optional): parameter name -> the tool's flag, for
            :func:`flag_names`. Defaults to None.
        argv (Sequence[str]): the tool's command line, for :func:`flag_names`. Defaults to ().

    Returns:
        str | None: one line for a :class:`UserError`, a missing path, a refused pickle or an
        unknown registry type; None for anything else (it keeps its traceback).
    """
    if isinstance(err, KeyError):
        return unknown_type_message(err)
    if isinstance(err, pickle.UnpicklingError):  # torch.load(weights_only=True) refused a class
        lines = [line.strip() for line in str(err).splitlines() if 'Unsupported' in line]
        return ('the checkpoint is a pickle that needs more than tensors to load; loading it '
                'could run arbitrary code' + (f' ({lines[0][:160]})' if lines else ''))
    if isinstance(err, UserError):
        text = flag_names(str(err), err.parameters, flags, argv)
        return _one_line(text) or type(err).__name__
    if isinstance(err, _MISSING_PATH):
        text = str(err)
        if err.filename and err.strerror is not None:
            text = f'{err.strerror}: {err.filename!r}'
        return _one_line(text) or type(err).__name__
    return None


def run_cli(main: Callable[[], object], argv: Optional[List[str]] = None,
            flags: Optional[Mapping[str, str]] = None) -> None:
    """Run a tool's ``main()``; print user errors as one line and exit with code 2.

    ``--debug`` is taken out of ``sys.argv`` (so the tool's parser never sees it) and makes user
    errors raise with their traceback, as programming errors always do.

    Args:
        main (Callable[[], object]): the tool's entry point.
        argv (List[str], optional): the command line, edited in place. Defaults to None
            (``sys.argv``).
        flags (Mapping[str, str], optional): library parameter name -> the tool's flag where
            they differ (``{'num_frames': '--frames'}``), so a message names what the user
            typed. Defaults to None.

    Raises:
        SystemExit: with code 2 after printing a user error.
    """
    argv = sys.argv if argv is None else argv
    debug = os.environ.get('VIDRD_DEBUG') == '1'
    if '--debug' in argv[1:]:
        argv[:] = [a for k, a in enumerate(argv) if k == 0 or a != '--debug']
        debug = True
    try:
        main()
    except Exception as err:  # noqa: BLE001 - sorted into user and programming errors below
        message = None if debug else user_error_message(err, flags, argv[1:])
        if message is None:
            raise
        tool = os.path.basename(argv[0]) if argv else 'vidrd'
        print(f'{tool}: error: {message} (add --debug for the traceback)', file=sys.stderr)
        raise SystemExit(2) from None
