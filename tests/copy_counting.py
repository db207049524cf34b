"""Counting the copies a function makes, with the profiler (shared by the fast-path tests)."""
import torch
from torch.profiler import ProfilerActivity, profile

COPY_OPS = ('aten::copy_', 'aten::clone', 'aten::contiguous')


def copy_ops(fn, *args, weights: torch.nn.Module = None) -> int:
    """Number of copy / clone / contiguous calls on activations that ``fn(*args)`` makes,
    counted by the profiler: 0-dim scalars and the conv weights of ``weights`` (which convs
    reorder for channels-last inputs) are not counted."""
    ignore = set()
    for p in (weights.parameters() if weights is not None else ()):
        ignore |= {tuple(p.shape), tuple(p.squeeze(-1).shape)}
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn(*args)
    return sum(1 for e in prof.events() if e.name in COPY_OPS and e.input_shapes
               and e.input_shapes[0] and tuple(e.input_shapes[0]) not in ignore)
