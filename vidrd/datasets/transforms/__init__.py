"""Registered video transforms (TRANSFORMS), listed in configs as ``pipeline=[dict(type=...)]``.

Keys they share: ``video_path`` / ``img_path`` -> ``frames`` uint8 (F, H, W, 3) -> (resize, crop,
flip) -> ``NormalizeVideo`` float32 in [-1, 1] -> ``PackVideoInputs`` ->
``dict(inputs=(3, F, H, W), data_samples=VideoDataSample)``.
"""
from .cached_latents import LoadCachedLatents, PackLatentInputs
from .crop import CenterCrop, RandomCrop
from .flip import RandomHorizontalFlip, mirror_caption
from .formatting import PackVideoInputs
from .image_to_pseudo_video import ImageToPseudoVideo, zoom_pan_boxes
from .load_image import LoadImage
from .load_video_frames import LoadVideoFrames
from .normalize import NormalizeVideo
from .resize import Resize, resize_frames

__all__ = [
    'LoadCachedLatents', 'PackLatentInputs', 'CenterCrop', 'RandomCrop', 'RandomHorizontalFlip',
    'mirror_caption', 'PackVideoInputs',
    'ImageToPseudoVideo', 'zoom_pan_boxes', 'LoadImage', 'LoadVideoFrames', 'NormalizeVideo',
    'Resize', 'resize_frames'
]
