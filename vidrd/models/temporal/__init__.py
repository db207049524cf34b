from .modelscope_temporal_conv import ModelScopeTemporalConv
from .temporal_attention import FrameAttention, TemporalAttention, frame_position_embedding
from .temporal_conv import TemporalConv
from .temporal_transformer import TemporalTransformer

__all__ = ['TemporalConv', 'TemporalAttention', 'FrameAttention', 'frame_position_embedding',
           'ModelScopeTemporalConv', 'TemporalTransformer']
