"""Hooks of vidrd (registered in HOOKS)."""
from .bad_sample_report_hook import BadSampleReportHook
from .export_temporal_vae_hook import ExportTemporalVAEHook, export_vae_atomically
from .iteration_seed_hook import IterationSeedHook
from .memory_profile_hook import MemoryProfileHook
from .trainable_checkpoint_hook import TrainableCheckpointHook
from .video_visualization_hook import VideoVisualizationHook

__all__ = ['BadSampleReportHook', 'ExportTemporalVAEHook', 'export_vae_atomically',
           'IterationSeedHook', 'MemoryProfileHook', 'TrainableCheckpointHook',
           'VideoVisualizationHook']
