"""Training curves from mmengine's json scalar logs (the logic of tools/analysis/plot_curves.py).

mmengine's ``LoggerHook`` with a ``LocalVisBackend`` appends one JSON object per logged
iteration to ``WORK_DIR/<timestamp>/vis_data/<timestamp>.json`` (``loss``, ``lr``,
``grad_norm``, ``time``... and ``step``); a resumed run starts a new timestamp folder. The curves
join every run of the work dir in time order.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from vidrd.utils.errors import UserError

Curves = Dict[str, Tuple[List[int], List[float]]]


def scalar_log_files(work_dir: str) -> List[str]:
    """The json scalar logs of every run in ``work_dir``, oldest first."""
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir not found: {work_dir!r}')
    files = [f for f in glob.glob(osp.join(work_dir, '*', 'vis_data', '*.json'))
             if osp.basename(f) != 'config.json']
    if not files:
        raise UserError(f'{work_dir!r} holds no mmengine json scalar log '
                        '(<timestamp>/vis_data/<timestamp>.json): was it written by '
                        'tools/train.py with a LocalVisBackend?')
    return sorted(files)


def read_curves(work_dir: str, train_only: bool = True) -> Curves:
    """key -> (steps, values) of every numeric scalar; a step logged twice keeps the last."""
    points: Dict[str, Dict[int, float]] = {}
    for path in scalar_log_files(work_dir):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a killed run
                    continue
                step = record.get('step', record.get('iter'))
                if step is None or (train_only and 'lr' not in record):
                    continue  # validation / test records carry no learning rate
                for key, value in record.items():
                    if key not in ('step', 'iter', 'epoch') and isinstance(value, (int, float)):
                        points.setdefault(key, {})[int(step)] = float(value)
    return {k: (sorted(v), [v[s] for s in sorted(v)]) for k, v in points.items()}


def default_keys(curves: Curves) -> List[str]:
    """Losses first, then learning rate and gradient norm."""
    losses = sorted(k for k in curves if 'loss' in k)
    return losses + [k for k in ('lr', 'grad_norm') if k in curves]


def plot_curves(work_dir: str, keys: Optional[Sequence[str]] = None,
                out: Optional[str] = None, log_scale: Sequence[str] = ('lr',)) -> str:
    """One panel per key (losses together in the first), saved as a PNG; returns its path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = read_curves(work_dir)
    keys = list(keys) if keys else default_keys(curves)
    missing = [k for k in keys if k not in curves]
    if missing or not keys:
        raise UserError(f'no scalar {missing or "to plot"} in the logs of {work_dir!r}; '
                        f'logged: {sorted(curves)}')
    losses = [k for k in keys if 'loss' in k]
    panels = ([losses] if losses else []) + [[k] for k in keys if k not in losses]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        for key in panel:
            ax.plot(*curves[key], label=key, linewidth=1)
        if panel[0] in log_scale:
            ax.set_yscale('log')
        ax.set_ylabel(panel[0] if len(panel) == 1 else 'loss')
        ax.grid(alpha=0.3)
        ax.legend(loc='upper right', fontsize=8)
    axes[-1, 0].set_xlabel('iteration')
    fig.suptitle(osp.basename(osp.normpath(work_dir)))
    fig.tight_layout()
    out = out or osp.join(work_dir, 'curves.png')
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
