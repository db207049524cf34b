from .patch_discriminator import PatchDiscriminator2D, PatchDiscriminator3D

__all__ = ['PatchDiscriminator2D', 'PatchDiscriminator3D']
