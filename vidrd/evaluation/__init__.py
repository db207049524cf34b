"""Evaluation: feature networks, metrics (FVD, IS, frame FID, CLIPSIM), reference statistics and
the UCF-101 zero-shot protocol."""
from . import feature_extractors, metrics  # noqa: F401
from .frechet_distance import feature_statistics, frechet_distance  # noqa: F401
from .reference_stats import ReferenceStats, RunningFeatureStatistics  # noqa: F401
from .ucf101_protocol import UCF101PromptDataset, sample_prompt_classes  # noqa: F401
