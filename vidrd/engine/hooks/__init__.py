from .iteration_seed_hook import IterationSeedHook
from .trainable_checkpoint_hook import TrainableCheckpointHook
from .video_visualization_hook import VideoVisualizationHook

__all__ = ['IterationSeedHook', 'TrainableCheckpointHook', 'VideoVisualizationHook']
