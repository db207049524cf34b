"""vidrd: Reuse and Diffuse (VidRD) text-to-video latent diffusion, OpenMMLab style."""
from .utils.cpu_allocator import tune_cpu_allocator

__version__ = '0.1.0'

# on import, before the first tensor: PyTorch reads its huge-page switch at its first allocation
CPU_ALLOCATOR = tune_cpu_allocator()
