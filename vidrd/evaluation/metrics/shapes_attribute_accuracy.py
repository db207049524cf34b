"""In-domain check of the embedded demo: do generated videos show what the prompt names?"""
import re
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from vidrd.registry import METRICS

from .sample_fields import get_field
from vidrd.utils.errors import InvalidValueError

ATTRIBUTES = ('color', 'shape', 'direction')


@METRICS.register_module()
class ShapesAttributeAccuracy(BaseMetric):
    """Colour / shape / direction accuracy of generated moving-shapes videos.

    Each generated ``video`` ((3, F, H, W) in [-1, 1]) is measured with
    ``vidrd.datasets.moving_shapes_attributes.measure_attributes`` and compared with the
    attributes its caption names (parsed with ``caption_pattern``). Reports the accuracy of each
    attribute and of all three at once ("joint"), in [0, 1]. Chance is 1/#colours, 1/#shapes and
    1/#directions.

    Args:
        caption_pattern: regex with named groups ``color``, ``shape``, ``direction``.
        threshold / min_motion: foreground threshold and the smallest displacement (pixels)
            that counts as motion (see ``measure_attributes``).
    """
    default_prefix = 'shapes'

    def __init__(self, caption_pattern: str =
                 r'^a (?P<color>\w+) (?P<shape>\w+) moving (?P<direction>\w+)$',
                 threshold: float = 0.25, min_motion: float = 1.0,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pattern = re.compile(caption_pattern)
        self.threshold = threshold
        self.min_motion = min_motion

    def process(self, data_batch, data_samples: Sequence) -> None:
        from vidrd.datasets.moving_shapes_attributes import measure_attributes
        for sample in data_samples:
            caption = get_field(sample, 'caption')
            match = self.pattern.match(caption or '')
            if match is None:
                raise InvalidValueError(
                    f'ShapesAttributeAccuracy: caption {caption!r} does not match '
                    f'caption_pattern {self.pattern.pattern!r}')
            measured = measure_attributes(get_field(sample, 'video'), threshold=self.threshold,
                                          min_motion=self.min_motion)
            self.results.append({a: measured[a] == match.group(a) for a in ATTRIBUTES})

    def compute_metrics(self, results: List[Dict[str, bool]]) -> Dict[str, float]:
        n = max(1, len(results))
        metrics = {a: sum(r[a] for r in results) / n for a in ATTRIBUTES}
        metrics['joint'] = sum(all(r.values()) for r in results) / n
        metrics['count'] = len(results)
        return metrics
