"""vidrd: Reuse and Diffuse (VidRD) text-to-video latent diffusion, OpenMMLab style."""
__version__ = '0.1.0'
