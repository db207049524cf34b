"""Mixed precision on any device."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from vidrd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """OptimWrapper running forward under ``torch.autocast`` (bf16 by default) on CPU or GPU.

    mmengine's ``AmpOptimWrapper`` requires an accelerator; bf16 needs no loss scaling, so this
    wrapper only opens an autocast context. Use ``AmpOptimWrapper`` for fp16 on a GPU.
    """

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        self.dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype

    @contextmanager
    def optim_context(self, model):
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        with super().optim_context(model), torch.autocast(device_type=device, dtype=self.dtype):
            yield
