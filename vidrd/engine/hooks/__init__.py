"""Hooks of vidrd (registered in HOOKS)."""
from .bad_sample_report_hook import BadSampleReportHook
from .iteration_seed_hook import IterationSeedHook
from .trainable_checkpoint_hook import TrainableCheckpointHook
from .video_visualization_hook import VideoVisualizationHook

__all__ = ['BadSampleReportHook', 'IterationSeedHook', 'TrainableCheckpointHook',
           'VideoVisualizationHook']
