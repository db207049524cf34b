"""Baseline: every clip sampled on its own."""
from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoStrategy


@LONG_VIDEO_STRATEGIES.register_module()
class IndependentClips(LongVideoStrategy):
    """Nothing is shared between clips: each starts from its own fresh noise.

    The baseline of the ablations (no FNR, no PNS, no DSG). It changes nothing, so
    ``strategies=[]`` behaves the same; the class names the baseline in configs and logs.
    """
