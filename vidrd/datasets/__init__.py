"""Datasets, transforms and video I/O of vidrd (registered in DATASETS / TRANSFORMS).

Pipelines produce ``dict(inputs=(3, F, H, W) float in [-1, 1], data_samples=VideoDataSample)``;
batch them with mmengine's ``default_collate`` (stacks inputs to (B, 3, F, H, W)).
"""
from . import transforms  # noqa: F401  (registers the transforms)
from .action_recognition_dataset import ActionRecognitionDataset, humanize_class_name
from .annotations import DataNotFoundError, read_table
from .bad_samples import SKIPPED_SAMPLES_KEY, BadSampleCounter, UnreadableSampleError
from .base_video_dataset import BaseVideoDataset, build_pipeline
from .cached_latent_dataset import CachedLatentDataset
from .image_text_dataset import ImageTextDataset
from .mixed_dataset import MixedDataset
from .moving_shapes import MovingShapesDataset
from .moving_shapes_attributes import (measure_attributes, measure_color, measure_direction,
                                       measure_motion, measure_shape)
from .ucf101_dataset import UCF101Dataset, load_class_prompts
from .video_data_sample import VideoDataSample
from .video_io import VideoInfo, probe_video, read_video, write_video
from .video_text_dataset import VideoTextDataset
from .weighted_dataset_sampler import WeightedDatasetSampler

__all__ = [
    'ActionRecognitionDataset', 'humanize_class_name', 'DataNotFoundError', 'read_table',
    'SKIPPED_SAMPLES_KEY', 'BadSampleCounter', 'UnreadableSampleError', 'BaseVideoDataset',
    'build_pipeline', 'CachedLatentDataset', 'ImageTextDataset', 'MixedDataset',
    'MovingShapesDataset',
    'measure_attributes', 'measure_color', 'measure_direction', 'measure_motion', 'measure_shape',
    'UCF101Dataset', 'load_class_prompts', 'VideoDataSample', 'VideoInfo', 'probe_video',
    'read_video', 'write_video', 'VideoTextDataset', 'WeightedDatasetSampler'
]
