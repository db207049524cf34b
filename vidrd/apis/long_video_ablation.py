"""Long-video samplers compared on a trained moving-shapes model, scored for continuity.

Each sampler config (the paper's ablation: full Reuse and Diffuse, without FNR / PNS / DSG,
independent clips; and the methods after the paper: temporal co-denoising, FIFO-Diffusion,
reconstruction guidance) makes a long video for every prompt from the same seed;
``LongVideoContinuity`` reads the shape's path in them (boundary or seam jump ratio, largest
step, per-clip direction and colour, repeated and reversed clips, shapes per frame), and the
compute per generated frame is measured alongside. Used by the demo and
``benchmarks/long_video_continuity.py``::

    from vidrd.apis.long_video_ablation import load_sampler_configs, run_long_video_ablation
    samplers = dict(load_sampler_configs('configs/ablations/tiny_shapes'),
                    **load_sampler_configs('configs/long_video/tiny_shapes'))
    comparison = run_long_video_ablation(model, prompts, samplers, num_clips=3, seed=0,
                                         strip='work_dirs/demo/long_videos/side_by_side')
    comparison.scores['fifo_diffusion']['boundary_ratio']
"""
import contextlib
import glob
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch

from vidrd.registry import METRICS

#: the paper's ablation rows, in the order reported
ABLATIONS = ('vidrd_full', 'no_fnr', 'no_pns', 'no_dsg', 'independent_clips')


@dataclass
class SideBySide:
    """One prompt's long video under every sampler: ``files`` (``mp4``, ``gif``: the videos side
    by side; ``png``: a strip, one row per sampler and one column per frame)."""
    prompt: str
    columns: List[str]
    files: Dict[str, str]


@dataclass
class LongVideoComparison:
    """What :func:`run_long_video_ablation` measured.

    Attributes:
        scores: ``LongVideoContinuity`` figures per sampler name.
        cost: per sampler: ``seconds_per_frame`` (wall clock, this process),
            ``unet_frames_per_frame`` (frames through U-Net forwards per generated frame; a
            backward pass, as in reconstruction guidance, is not counted) and
            ``frames_per_video``.
        side_by_side: the files of one prompt under every sampler, or None.
    """
    scores: Dict[str, Dict[str, float]]
    cost: Dict[str, Dict[str, float]] = field(default_factory=dict)
    side_by_side: Optional[SideBySide] = None

    def relative_cost(self, reference: str = 'vidrd_full') -> Dict[str, float]:
        """Seconds per generated frame of every sampler over ``reference``'s."""
        base = self.cost[reference]['seconds_per_frame']
        return {name: c['seconds_per_frame'] / base for name, c in self.cost.items()}


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
def long_video_samples(model, prompts: Sequence[str], sampler_cfg, num_clips: int,
                       seed: int = 0, batch_size: int = 16) -> List[dict]:
    """Long videos as in-memory samples for scoring (:func:`continuity_scores`); nothing is
    written (:func:`vidrd.apis.generate.generate_long_video` writes files).

    Args:
        model: a VidRD model (``generate``), in eval mode.
        prompts (Sequence[str]): one long video per prompt.
        sampler_cfg (dict | LongVideoSampler): the sampler, a config or a built one.
        num_clips (int): clips per video.
        seed (int): batch k is seeded ``seed + k * batch_size``. Defaults to 0.
        batch_size (int): videos sampled at once. Defaults to 16.

    Returns:
        list[dict]: per prompt, ``dict(video, caption, clip_lengths, prompt_frames, seams)``:
        the video (3, T, H, W) in [-1, 1] on the CPU and the layout ``LongVideoContinuity``
        reads (from the sampler's ``layout``).
    """
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
    """``LongVideoContinuity`` over samples of :func:`long_video_samples`."""
    metric = METRICS.build(dict(type='LongVideoContinuity', **metric_kwargs))
    metric.process(None, list(samples))
    return metric.compute_metrics(metric.results)


@contextlib.contextmanager
def count_unet_frames(unet: torch.nn.Module) -> Iterator[Dict[str, int]]:
    """Count the frames (batch x frames of every ``sample``) that go through ``unet``'s
    forward while the context is open: ``with count_unet_frames(unet) as count: ...;
    count['frames']``."""
    count = dict(frames=0)

    def hook(module, args, kwargs):
        sample = args[0] if args else kwargs['sample']
        count['frames'] += sample.shape[0] * sample.shape[2]

    handle = unet.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield count
    finally:
        handle.remove()


def write_side_by_side(videos: Dict[str, torch.Tensor], stem: str, fps: float = 8,
                       gap: int = 2) -> Dict[str, str]:
    """One mp4 and one gif of the ``videos`` ((3, T, H, W) in [-1, 1], in dict order) side by
    side, separated by ``gap`` white columns; shorter videos hold their last frame."""
    from vidrd.datasets.video_io import hold_last_frame, video_tensor_to_uint8, write_video
    frames = [video_tensor_to_uint8(v) for v in videos.values()]
    total = max(len(f) for f in frames)
    frames = [hold_last_frame(f, total) for f in frames]
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
    enlarged; a black tick above the frames listed in ``marks[name]`` (where a clip begins).
    Shorter rows end early. Returns ``path``."""
    from PIL import Image, ImageDraw

    from vidrd.datasets.video_io import video_tensor_to_uint8
    rows = {name: video_tensor_to_uint8(v) for name, v in videos.items()}
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
        marked = set((marks or {}).get(name, ()))
        for c, frame in enumerate(frames):
            left = label_width + c * (cell_w + gap)
            image = Image.fromarray(frame).resize((cell_w, cell_h), Image.NEAREST)
            canvas.paste(image, (left, top + tick))
            if c in marked:
                draw.rectangle([left, top, left + cell_w - 1, top + tick - 2], fill=(0, 0, 0))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    # a 256-colour palette: a tenth of the bytes (small enough to keep in a repository)
    canvas.quantize(colors=256).save(path, optimize=True)
    return path


def run_long_video_ablation(model, prompts: Sequence[str], samplers: Dict[str, dict],
                            num_clips: int = 3, seed: int = 0, strip: Optional[str] = None,
                            strip_prompt: int = 0, batch_size: int = 16,
                            **metric_kwargs) -> LongVideoComparison:
    """Continuity scores and compute of each sampler config on ``prompts`` (one long video
    each, ``num_clips`` clips long), in ``samplers`` order.

    With ``strip`` (a path stem), prompt ``strip_prompt``'s video under every sampler is
    written side by side (``STEM.mp4``, ``STEM.gif``) and as a PNG strip (``STEM.png``: a row
    per sampler, a column per frame, clip starts ticked).
    """
    scores, cost, shown, starts = {}, {}, {}, {}
    for name, cfg in samplers.items():
        begin = time.perf_counter()
        with count_unet_frames(model.unet) as count:
            samples = long_video_samples(model, prompts, cfg, num_clips, seed, batch_size)
        seconds = time.perf_counter() - begin
        frames = sum(s['video'].shape[1] for s in samples)
        cost[name] = dict(seconds_per_frame=seconds / frames,
                          unet_frames_per_frame=count['frames'] / frames,
                          frames_per_video=frames // len(samples))
        scores[name] = continuity_scores(samples, **metric_kwargs)
        shown[name] = samples[strip_prompt]['video']
        starts[name] = np.cumsum([0] + list(samples[strip_prompt]['clip_lengths'][:-1]))
    side_by_side = None
    if strip is not None:
        files = write_side_by_side(shown, strip)
        files['png'] = write_frame_strip(shown, f'{strip}.png', marks=starts)
        side_by_side = SideBySide(prompt=prompts[strip_prompt], columns=list(shown),
                                  files=files)
    return LongVideoComparison(scores=scores, cost=cost, side_by_side=side_by_side)


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


#: what a long video that continues shows on the moving-shapes demo: a boundary (or seam) as
#: smooth as a step within a clip (up to 1.5x), the named direction and colour in every clip,
#: no clip repeated or reversed, and one shape in (almost) every frame
CONTINUATION_TARGETS = dict(max_ratio=1.5, min_direction=0.9, min_color=1.0,
                            min_one_shape=0.95)


def continuation_failures(scores: Dict[str, float], targets: Optional[dict] = None
                          ) -> List[str]:
    """The :data:`CONTINUATION_TARGETS` a sampler's ``LongVideoContinuity`` scores miss, each
    with its figure (empty: every target met)."""
    t = dict(CONTINUATION_TARGETS, **(targets or {}))
    checks = [
        (scores['boundary_ratio'] <= t['max_ratio'],
         f"boundary ratio {scores['boundary_ratio']:.2f} > {t['max_ratio']}"),
        (scores.get('direction_min_over_clips', 0.0) >= t['min_direction'],
         f"direction {scores.get('direction_min_over_clips', 0.0):.2f} in a clip "
         f"< {t['min_direction']}"),
        (scores.get('color_min_over_clips', 0.0) >= t['min_color'],
         f"colour {scores.get('color_min_over_clips', 0.0):.2f} in a clip < {t['min_color']}"),
        (scores['repeated_clips'] == 0, f"{scores['repeated_clips']} repeated clips"),
        (scores.get('reversed_clips', 0) == 0, f"{scores.get('reversed_clips', 0)} reversed clips"),
        (scores.get('one_shape_fraction', 0.0) >= t['min_one_shape'],
         f"one shape in {scores.get('one_shape_fraction', 0.0):.1%} of frames "
         f"< {t['min_one_shape']:.0%}"),
    ]
    return [message for ok, message in checks if not ok]


def continuation_verdict(name: str, runs: Dict[str, Dict[str, float]]) -> str:
    """One plain-words line: does sampler ``name`` continue, over ``runs`` (label -> scores,
    e.g. ``{'3 clips': ..., '6 clips': ...}``)?"""
    failures = {label: continuation_failures(scores) for label, scores in runs.items()}
    figures = '; '.join(
        f"{label}: ratio {s['boundary_ratio']:.2f}, largest step "
        f"{s.get('largest_step_ratio', float('nan')):.2f}x the median, direction "
        f"{s.get('direction_min_over_clips', float('nan')):.2f} and colour "
        f"{s.get('color_min_over_clips', float('nan')):.2f} in the worst clip, "
        f"{s['repeated_clips']} repeated / {s.get('reversed_clips', 0)} reversed clips, one "
        f"shape in {s.get('one_shape_fraction', float('nan')):.0%} of frames"
        for label, s in runs.items())
    missed = [f'{label}: {m}' for label, ms in failures.items() for m in ms]
    verdict = 'supported' if not missed else 'NOT supported (' + '; '.join(missed) + ')'
    return (f'Long videos of {name} continue (targets: ratio <= '
            f"{CONTINUATION_TARGETS['max_ratio']}, direction >= "
            f"{CONTINUATION_TARGETS['min_direction']} and colour "
            f"{CONTINUATION_TARGETS['min_color']:g} in every clip, no repeated or reversed "
            f"clip, one shape in >= {CONTINUATION_TARGETS['min_one_shape']:.0%} of frames): "
            f'{verdict}. {figures}.')
