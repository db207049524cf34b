"""Distributed training on a machine without CUDA: the one gloo set-up of vidrd."""
import torch
import torch.distributed as dist


def init_cpu_process_group() -> bool:
    """Start the gloo process group of a ``torchrun`` launch where there is no CUDA device.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device``, which fails on a CPU-only
    machine; there the process group is started here instead, from torchrun's environment
    (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``). A group that already exists
    is kept. With CUDA nothing is done: mmengine's set-up applies.

    Returns:
        bool: True on a machine without CUDA (the gloo group now exists), False with CUDA.
    """
    if torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    return True


__all__ = ['init_cpu_process_group']
