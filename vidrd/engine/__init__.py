from . import hooks  # noqa: F401
from .optim_wrappers import AutocastOptimWrapper  # noqa: F401
from .runner import VidRDRunner  # noqa: F401
