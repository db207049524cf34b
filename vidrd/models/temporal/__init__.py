from .temporal_attention import TemporalAttention, frame_position_embedding
from .temporal_conv import TemporalConv

__all__ = ['TemporalConv', 'TemporalAttention', 'frame_position_embedding']
