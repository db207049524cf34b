"""``torch.compile`` of a module's forward that falls back to eager execution, saying why."""
import functools
import importlib
import inspect
import logging
from typing import Callable, Optional, Tuple, Union

import torch
from mmengine.logging import print_log

_COMPILE_ARGS = set(inspect.signature(torch.compile).parameters) - {'model'}


@functools.lru_cache(maxsize=None)
def compile_errors() -> Tuple[type, ...]:
    """Exception types that mean torch.compile could not compile (not that the code failed).

    Dynamo's (``TorchDynamoException``: ``Unsupported``, ``BackendCompilerFailed`` and its
    ``InductorError``, ``TorchRuntimeError`` of tracing with fake tensors, ``InvalidBackend``,
    ...) and inductor's C++ / lowering errors, those of them this torch version has. Read on
    first use, when ``torch.compile`` has loaded them (importing dynamo takes seconds).

    Returns:
        tuple: The exception types.
    """
    found = []
    for module, names in (('torch._dynamo.exc', ('TorchDynamoException',)),
                          ('torch._inductor.exc', ('CppCompileError', 'OperatorIssue',
                                                   'InvalidCxxCompiler',
                                                   'CppWrapperCodegenError'))):
        try:
            exc = importlib.import_module(module)
        except ImportError:  # pragma: no cover - a torch build without it
            continue
        found += [getattr(exc, name) for name in names if isinstance(getattr(exc, name, None),
                                                                      type)]
    return tuple(found)


def compile_options(compile: Union[bool, dict, None], owner: str) -> Optional[dict]:
    """``torch.compile`` keyword arguments of a ``compile`` config entry, None when off.

    ``True`` is inductor with its defaults; a dict is passed on (``backend`` defaults to
    inductor).
    """
    if compile is None or compile is False:
        return None
    if compile is True:
        return dict(backend='inductor')
    if not isinstance(compile, dict):
        raise TypeError(f'{owner}: compile must be True, False or a dict of torch.compile '
                        f'options, got {compile!r}')
    unknown = set(compile) - _COMPILE_ARGS
    if unknown:
        raise ValueError(f'{owner}: compile has unknown torch.compile option(s) '
                         f'{sorted(unknown)}; use some of {sorted(_COMPILE_ARGS)}')
    return dict(dict(backend='inductor'), **compile)


class CompiledForward:
    """Runs ``eager(*args)`` through ``torch.compile`` when enabled.

    The compiled function is built at the first call (and again after a deep copy or
    unpickling, which drop it). Only a compile error (:func:`compile_errors`) makes the call
    run eagerly instead: an error of the inputs themselves (which tracing reports as a compile
    error) is then raised by the eager code as usual, and compilation stays on; otherwise the
    compiler cannot handle this code, so the failure is logged once with its reason and the
    module runs eagerly from then on (``failure`` holds the reason). Any other error of the
    compiled call (out of memory, an interrupt, an error of the code itself) propagates
    unchanged and later calls are compiled as before. Errors raised in a compiled backward
    pass are not caught.

    Args:
        compile (bool | dict | None): The ``compile`` config entry (:func:`compile_options`).
        owner (str): Name of the module, for messages.
    """

    def __init__(self, compile: Union[bool, dict, None], owner: str):
        self.options = compile_options(compile, owner)
        self.owner = owner
        self.failure: Optional[str] = None
        self._fn: Optional[Callable] = None

    @property
    def enabled(self) -> bool:
        return self.options is not None and self.failure is None

    def __call__(self, eager: Callable, *args):
        if not self.enabled:
            return eager(*args)
        try:
            if self._fn is None:
                self._fn = torch.compile(eager, **self.options)
            return self._fn(*args)
        except Exception as err:
            if not isinstance(err, compile_errors()):
                raise  # out of memory, an error of the code: compilation stays on
            out = eager(*args)  # an error of the inputs is raised here, compilation kept
            self._fail(err)
            return out

    def _fail(self, err: Exception) -> None:
        reason = ' '.join(f'{type(err).__name__}: {err}'.split())[:500]
        self.failure, self._fn = reason, None
        print_log(f'{self.owner}: torch.compile({self.options}) failed, running eagerly '
                  f'from now on. Reason: {reason}', logger='current', level=logging.WARNING)

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _fn=None)

    def __deepcopy__(self, memo) -> 'CompiledForward':
        new = CompiledForward.__new__(CompiledForward)
        new.__dict__.update(self.__getstate__())
        return new
