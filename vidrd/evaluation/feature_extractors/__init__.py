"""Evaluation networks, registered in ``FEATURE_EXTRACTORS`` (one per file)."""
from .base import (VideoFeatureExtractor, resize_shorter_side_center_crop,  # noqa: F401
                   resolve_weights, select_frames)
from .c3d import C3D, C3DFeatureExtractor  # noqa: F401
from .clip import CLIPExtractor  # noqa: F401
from .i3d import I3DFeatureExtractor, InceptionI3D  # noqa: F401
from .inception_v3 import InceptionV3FrameExtractor  # noqa: F401
from .shapes_classifier import ShapesClassifier, train_shapes_classifier  # noqa: F401
