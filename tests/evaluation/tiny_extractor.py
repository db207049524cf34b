"""A deterministic, fast stand-in feature network for metric tests (importable by spawned workers)."""
import torch
from torch import nn

from vidrd.evaluation.feature_extractors.base import VideoFeatureExtractor, as_unit_range


class TinyVideoExtractor(VideoFeatureExtractor):
    """Features: a fixed random projection of per-channel means of 4 temporal chunks (6-d)."""
    name = 'tiny'
    feature_dim = 6
    num_classes = 5

    def __init__(self, frame_level: bool = False):
        super().__init__()
        self.frame_level = frame_level
        generator = torch.Generator().manual_seed(0)
        self.project = nn.Parameter(torch.randn(12, 6, generator=generator))
        self.project_frame = nn.Parameter(torch.randn(3, 6, generator=generator))
        self.classify = nn.Parameter(torch.randn(6, 5, generator=generator) * 20)
        self.freeze()

    @torch.no_grad()
    def extract_features(self, videos):
        videos = as_unit_range(videos)
        if self.frame_level:
            return videos.mean(dim=(3, 4)).transpose(1, 2) @ self.project_frame  # (B, F, 6)
        pooled = nn.functional.adaptive_avg_pool3d(videos, (4, 1, 1)).flatten(1)
        return pooled @ self.project

    @torch.no_grad()
    def class_probabilities(self, videos):
        return (self.extract_features(videos) @ self.classify).softmax(-1)
