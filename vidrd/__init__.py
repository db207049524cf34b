"""vidrd: Reuse and Diffuse (VidRD) text-to-video latent diffusion, OpenMMLab style.

Importing vidrd changes nothing in the process: the C allocator is tuned by a run's set-up
(``vidrd.utils.cpu_allocator``), not here.
"""

__version__ = '0.1.0'
