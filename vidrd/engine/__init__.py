"""Training and evaluation machinery of vidrd (hooks, loops, ...)."""
from . import hooks  # noqa: F401  (registers the hooks)
