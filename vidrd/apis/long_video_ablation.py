"""The paper's long-video ablation on a trained moving-shapes model, scored for continuity.

Each sampler config (full Reuse and Diffuse, without FNR / PNS / DSG, independent clips) makes a
long video for every prompt from the same seed; ``LongVideoContinuity`` reads the shape's path
in them (boundary jump ratio, per-clip direction and colour, repeated clips). Used by the demo
and ``benchmarks/long_video_continuity.py``::

    from vidrd.apis.long_video_ablation import load_sampler_configs, run_long_video_ablation
    samplers = load_sampler_configs('configs/ablations/tiny_shapes')
    table = run_long_video_ablation(model, prompts, samplers, num_clips=3, seed=0,
                                    strip='work_dirs/demo/ablation_strip')
"""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from vidrd.registry import METRICS

#: the paper's ablation rows, in the order reported
ABLATIONS = ('vidrd_full', 'no_fnr', 'no_pns', 'no_dsg', 'independent_clips')


def load_sampler_configs(folder: str, names: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    """``{name: long_video_sampler dict}`` of the sampler configs ``folder/NAME.py`` (default:
    the :data:`ABLATIONS` present there, then any others in name order)."""
    from mmengine.config import Config
    paths = {osp.splitext(osp.basename(p))[0]: p for p in glob.glob(osp.join(folder, '*.py'))}
    if names is None:
        names = [n for n in ABLATIONS if n in paths] + sorted(set(paths) - set(ABLATIONS))
    missing = [n for n in names if n not in paths]
    if missing:
        raise FileNotFoundError(f'no sampler config {missing} in {folder!r} (has {sorted(paths)})')
    configs = {}
    for name in names:
        sampler = Config.fromfile(paths[name]).get('long_video_sampler')
        if sampler is None:
            raise KeyError(f'{paths[name]} defines no long_video_sampler = dict(...)')
        configs[name] = sampler.to_dict()
    return configs


@torch.no_grad()
def generate_long_videos(model, prompts: Sequence[str], sampler_cfg, num_clips: int,
                         seed: int = 0, batch_size: int = 8) -> List[dict]:
    """``dict(video (3, T, H, W) in [-1, 1], caption, clip_lengths, prompt_frames)`` per prompt
    (the layout ``LongVideoContinuity`` reads): one long video
    of ``num_clips`` clips each, sampled in batches with ``sampler_cfg`` (a config or sampler)."""
    from .generate import build_sampler
    sampler = build_sampler(sampler_cfg)
    layout = sampler.layout(num_clips)
    samples = []
    for start in range(0, len(prompts), batch_size):
        batch = list(prompts[start:start + batch_size])
        videos = model.generate(batch, num_clips=num_clips, seed=seed + start, sampler=sampler)
        for caption, video in zip(batch, videos.cpu()):
            samples.append(dict(video=video, caption=caption, clip_lengths=layout.clip_lengths,
                                prompt_frames=layout.prompt_frames, seams=layout.seams))
    return samples


def continuity_scores(samples: Sequence[dict], **metric_kwargs) -> Dict[str, float]:
    """``LongVideoContinuity`` over samples of :func:`generate_long_videos`."""
    metric = METRICS.build(dict(type='LongVideoContinuity', **metric_kwargs))
    metric.process(None, list(samples))
    return metric.compute_metrics(metric.results)


def write_side_by_side(videos: Dict[str, torch.Tensor], stem: str, fps: float = 8,
                       gap: int = 2) -> Dict[str, str]:
    """One mp4 and one gif of the ``videos`` ((3, T, H, W) in [-1, 1], in dict order) side by
    side, separated by ``gap`` white columns; shorter videos hold their last frame."""
    from vidrd.datasets.video_io import write_video
    frames = [((v.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0).numpy()
              for v in videos.values()]
    total = max(len(f) for f in frames)
    frames = [np.concatenate([f, np.repeat(f[-1:], total - len(f), 0)]) for f in frames]
    height = frames[0].shape[1]
    spacer = np.full((total, height, gap, 3), 255, np.uint8)
    parts = [p for f in frames for p in (f, spacer)][:-1]
    strip = np.concatenate(parts, axis=2)
    return {fmt: write_video(f'{stem}.{fmt}', strip, fps=fps) for fmt in ('mp4', 'gif')}


def write_frame_strip(videos: Dict[str, torch.Tensor], path: str, scale: int = 2,
                      gap: int = 2, label_width: int = 150,
                      marks: Optional[Dict[str, Sequence[int]]] = None) -> str:
    """A PNG a person reads at a glance: one row per video ((3, T, H, W) in [-1, 1], rows in
    dict order, each labelled with its key), one column per frame, frames ``scale`` times
    enlarged; a short white tick above the frames in ``marks[name]`` (where a clip or window
    begins). Shorter rows end early. Returns ``path``."""
    from PIL import Image, ImageDraw
    rows = {name: ((v.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0)
            .numpy() for name, v in videos.items()}
    height, width = next(iter(rows.values())).shape[1:3]
    cell_h, cell_w = height * scale, width * scale
    columns = max(len(frames) for frames in rows.values())
    tick = 3
    canvas = Image.new('RGB', (label_width + columns * (cell_w + gap),
                               len(rows) * (cell_h + gap + tick) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r, (name, frames) in enumerate(rows.items()):
        top = gap + r * (cell_h + gap + tick)
        draw.text((4, top + tick + cell_h // 2 - 6), name, fill=(0, 0, 0))
        for c, frame in enumerate(frames):
            left = label_width + c * (cell_w + gap)
            image = Image.fromarray(frame).resize((cell_w, cell_h), Image.NEAREST)
            canvas.paste(image, (left, top + tick))
            if c in set((marks or {}).get(name, ())):
                draw.rectangle([left, top, left + cell_w - 1, top + tick - 2], fill=(0, 0, 0))
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    canvas.save(path)
    return path


def run_long_video_ablation(model, prompts: Sequence[str], samplers: Dict[str, dict],
                            num_clips: int = 3, seed: int = 0, strip: Optional[str] = None,
                            strip_prompt: int = 0, **metric_kwargs) -> Dict[str, Dict]:
    """Continuity scores of each sampler config on ``prompts`` (one long video each).

    Returns ``{name: scores}`` (see ``LongVideoContinuity``) plus, with ``strip``, the key
    ``'strip'``: the files of a side-by-side video of prompt ``strip_prompt`` under each
    sampler, columns in ``samplers`` order.
    """
    table, shown = {}, {}
    for name, cfg in samplers.items():
        samples = generate_long_videos(model, prompts, cfg, num_clips, seed)
        table[name] = continuity_scores(samples, **metric_kwargs)
        shown[name] = samples[strip_prompt]['video']
    if strip is not None:
        table['strip'] = dict(prompt=prompts[strip_prompt], columns=list(shown),
                              files=write_side_by_side(shown, strip))
    return table


def paper_claims(table: Dict[str, Dict], max_ratio: float = 1.5,
                 min_accuracy: float = 0.9) -> List[str]:
    """Plain-words verdicts on the paper's long-video claims from an ablation ``table`` (rows
    named as in :data:`ABLATIONS`), each with its figures."""
    full = table['vidrd_full']
    ratio = full['boundary_ratio']
    lines = []
    if 'independent_clips' in table:
        other = table['independent_clips']['boundary_ratio']
        verdict = 'supported' if ratio <= max_ratio and ratio < other else 'NOT supported'
        lines.append(f'Long videos go on smoothly from clip to clip (Reuse and Diffuse vs '
                     f'independent clips): {verdict}. Boundary jump ratio {ratio:.2f} against '
                     f'{other:.2f} (1 = a boundary as smooth as a step within a clip; target '
                     f'<= {max_ratio}).')
    direction = [v for k, v in sorted(full.items()) if k.startswith('direction_clip')]
    color = [v for k, v in sorted(full.items()) if k.startswith('color_clip')]
    coherent = (min(direction + color, default=0.0) >= min_accuracy
                and full['repeated_clips'] == 0 and full.get('reversed_clips', 0) == 0)
    lines.append(
        f'Every clip keeps the prompt, moving on the named way instead of restarting or '
        f'replaying: {"supported" if coherent else "NOT supported"}. Direction accuracy per '
        f'clip {[round(v, 2) for v in direction]}, colour {[round(v, 2) for v in color]}, '
        f'{full["repeated_clips"]} repeated and {full.get("reversed_clips", 0)} reversed '
        f'clips.')
    names = dict(no_fnr='Frame-level Noise Reversion', no_pns='Past-dependent Noise Sampling',
                 no_dsg='Denoising with Staged Guidance')
    for row, strategy in names.items():
        if row not in table:
            continue
        other = table[row]['boundary_ratio']
        if other > ratio:
            verdict = f'supported: without it the ratio rises to {other:.2f} from {ratio:.2f}'
        else:
            verdict = (f'NOT supported on this domain: {other:.2f} without it against '
                       f'{ratio:.2f} with it')
        lines.append(f'{strategy} matters for smooth transitions: {verdict}.')
    return lines
