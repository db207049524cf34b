"""Evaluation metrics (mmengine ``BaseMetric``s registered in ``METRICS``)."""
from .clip_similarity import CLIPSimilarity  # noqa: F401
from .frame_fid import FrameFID  # noqa: F401
from .fvd import FrechetVideoDistance  # noqa: F401
from .inception_score import InceptionScore, inception_score  # noqa: F401
from .long_video_continuity import LongVideoContinuity  # noqa: F401
from .reconstruction import VideoReconstructionMetric  # noqa: F401
from .shapes_attribute_accuracy import ShapesAttributeAccuracy  # noqa: F401
