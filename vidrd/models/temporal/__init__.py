from .temporal_attention import FrameAttention, TemporalAttention, frame_position_embedding
from .temporal_conv import TemporalConv

__all__ = ['TemporalConv', 'TemporalAttention', 'FrameAttention', 'frame_position_embedding']
