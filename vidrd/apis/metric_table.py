"""The metric table of ``tools/test.py``: printed, and written to JSON for scripts and papers."""
import json
from typing import Dict

from vidrd.utils.io import atomic_write


def format_metric_table(metrics: Dict[str, object]) -> str:
    """``metric  value`` rows, floats to 4 decimals."""
    width = max([len(k) for k in metrics] + [6])
    rows = [f'{"metric":{width}s}  value']
    for key, value in metrics.items():
        rows.append(f'{key:{width}s}  {value:.4f}' if isinstance(value, float) else
                    f'{key:{width}s}  {value}')
    return '\n'.join(rows)


def write_metrics_json(metrics: Dict[str, object], path: str, **context) -> str:
    """Write ``{"metrics": {...}, **context}`` to ``path`` atomically; return the path."""
    with atomic_write(path, 'w') as f:
        json.dump(dict(metrics={k: (v.item() if hasattr(v, 'item') else v)
                                for k, v in metrics.items()}, **context),
                  f, indent=2, default=str)
    return path
