"""Build a sub-module from a config dict, or accept an already built module (tests inject tiny
text encoders or VAEs this way)."""
from typing import Any, Optional, Union

from mmengine.registry import Registry
from torch import nn

from vidrd.registry import MODELS


def build_module(module: Union[dict, nn.Module, None], registry: Registry = MODELS,
                 default_args: Optional[dict] = None) -> Any:
    if module is None or isinstance(module, nn.Module):
        return module
    if isinstance(module, dict):
        return registry.build(module, default_args=default_args)
    raise TypeError(f'expected a config dict or an nn.Module, got {type(module).__name__}')
