"""vidrd: Reuse and Diffuse (VidRD) text-to-video latent diffusion, OpenMMLab style."""
from .utils.cpu_allocator import tune_cpu_allocator

__version__ = '0.1.0'

#: whether the C allocator keeps activation-sized blocks for reuse (vidrd/utils/cpu_allocator.py)
CPU_ALLOCATOR_TUNED = tune_cpu_allocator()
