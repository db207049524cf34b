"""Training and evaluation machinery of vidrd (runner, strategies, hooks, optimiser wrappers)."""
from . import hooks  # noqa: F401  (registers the hooks)
from .optim_wrapper_constructors import GeneratorDiscriminatorOptimWrapperConstructor  # noqa: F401
from .optim_wrappers import AutocastOptimWrapper  # noqa: F401
from .runner import VidRDRunner  # noqa: F401
from .strategies import FSDP2Strategy  # noqa: F401
