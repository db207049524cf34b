"""CompiledForward falls back to eager execution for compile errors only: an out-of-memory or
other runtime error of a compiled call propagates, and compilation stays on for later calls."""
import pytest
import torch
import torch._dynamo.exc as dynamo_exc
import torch._inductor.exc as inductor_exc

from vidrd.models.unets import compile as compile_module
from vidrd.models.unets.compile import CompiledForward, compile_errors


def compile_failures():
    def backend(*args):
        pass
    return {
        'BackendCompilerFailed': dynamo_exc.BackendCompilerFailed(
            backend, RuntimeError('no compiler here'), None),
        'Unsupported': dynamo_exc.Unsupported('data-dependent branch'),
        'TorchRuntimeError': dynamo_exc.TorchRuntimeError('fake tensor op failed'),
        'InvalidBackend': dynamo_exc.InvalidBackend('no_such_backend'),
        'InductorError': inductor_exc.InductorError(RuntimeError('lowering'), None),
        'CppCompileError': inductor_exc.CppCompileError(['cc'], 'cc: not found'),
    }


class FakeCompile:
    """``torch.compile`` whose compiled function raises ``error`` once, then doubles."""

    def __init__(self, error):
        self.error, self.compiles, self.calls = error, 0, 0

    def __call__(self, fn, **options):
        self.compiles += 1

        def compiled(*args):
            self.calls += 1
            if self.error is not None:
                error, self.error = self.error, None
                raise error
            return fn(*args) * 2  # tells the compiled path from the eager one
        return compiled


def eager(x):
    return x + 1


@pytest.mark.parametrize('name', sorted(compile_failures()))
def test_a_compile_error_falls_back_to_eager_and_stays_eager(name, monkeypatch):
    error = compile_failures()[name]
    assert isinstance(error, compile_errors())
    fake = FakeCompile(error)
    monkeypatch.setattr(compile_module.torch, 'compile', fake)
    forward = CompiledForward(True, 'TestModule')
    x = torch.zeros(2)
    assert torch.equal(forward(eager, x), x + 1)  # this call ran eagerly
    assert not forward.enabled and type(error).__name__ in forward.failure
    assert torch.equal(forward(eager, x), x + 1)
    assert fake.calls == 1 and fake.compiles == 1  # a compiler that failed is not retried


def test_an_input_error_seen_by_tracing_is_raised_by_the_eager_code(monkeypatch):
    fake = FakeCompile(dynamo_exc.TorchRuntimeError('shape mismatch while tracing'))
    monkeypatch.setattr(compile_module.torch, 'compile', fake)
    forward = CompiledForward(True, 'TestModule')

    def strict(x):
        if x.shape[0] != 2:
            raise ValueError('x must have 2 rows')
        return x + 1
    with pytest.raises(ValueError, match='2 rows'):
        forward(strict, torch.zeros(3))
    assert forward.enabled  # the inputs were wrong, not the compiler
    assert torch.equal(forward(strict, torch.zeros(2)), torch.full((2,), 2.0))


@pytest.mark.parametrize('error', [torch.OutOfMemoryError('CUDA out of memory'),
                                   RuntimeError('an error of the code'),
                                   ValueError('bad value')],
                         ids=['out-of-memory', 'RuntimeError', 'ValueError'])
def test_a_runtime_error_propagates_and_compilation_stays_on(error, monkeypatch):
    fake = FakeCompile(error)
    monkeypatch.setattr(compile_module.torch, 'compile', fake)
    forward = CompiledForward(True, 'TestModule')
    ran_eagerly = []

    def tracked(x):
        ran_eagerly.append(1)
        return x + 1
    x = torch.zeros(2)
    with pytest.raises(type(error), match=str(error)):
        forward(tracked, x)
    assert ran_eagerly == [] and forward.enabled and forward.failure is None
    assert torch.equal(forward(tracked, x), (x + 1) * 2)  # compiled again, not eager
    assert fake.compiles == 1 and fake.calls == 2
