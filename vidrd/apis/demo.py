"""The embedded demo: train, test and sample a tiny VidRD on generated moving shapes, on the CPU.

Stages (each logged with its wall time, all outputs under ``work_dir``):

1. train the tiny VidRD (``configs/vidrd_tiny_shapes.py``) with mmengine's Runner;
2. train the in-domain feature network (a small colour x shape x direction classifier) that
   FVD and IS use on this domain;
3. test on held-out prompts (colour/shape/direction combinations never seen in training):
   in-domain attribute accuracy, FVD and IS, sample videos (mp4 + gif); then check that FVD
   and IS rank real clips, the trained model and an untrained one in that order, on prompts
   of every combination;
4. generate long videos clip after clip with Reuse and Diffuse (FNR + PNS + DSG) and run the
   paper's ablation (full, no FNR, no PNS, no DSG, independent clips; the sampler configs of
   ``configs/ablations/tiny_shapes``) on the held-out prompts, scored with
   ``LongVideoContinuity``, with a side-by-side video of one prompt under every row;
5. write ``report.md`` / ``report.json``: figures, which of the paper's claims they support,
   timings and where everything is.
"""
import json
import os
import os.path as osp
import time
from typing import Dict, Optional

from vidrd.utils.logging import get_logger

from .run_config import build_runner, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
LONG_VIDEO_SAMPLERS = osp.join(REPO, 'configs', 'ablations', 'tiny_shapes')


def _use_classifier(cfg, classifier: str) -> None:
    """Point the config's evaluator (attribute accuracy, FVD, IS) at the demo's classifier."""
    for metric in cfg.test_evaluator:
        if 'extractor' in metric:
            metric.extractor.weights = classifier


def run_demo(work_dir: str = 'work_dirs/demo', cfg_options: Optional[dict] = None,
             classifier_iters: int = 300, long_video_prompts: int = 2,
             long_video_clips: int = 3, ablation_videos: int = 2) -> Dict:
    """Run every stage; return the report (also written to ``work_dir/report.json``)."""
    from vidrd.evaluation.feature_extractors.shapes_classifier import train_demo_classifier

    from .generate import generate_long_video
    from .long_video_ablation import load_sampler_configs, paper_claims, run_long_video_ablation
    from .metric_ordering import shapes_metric_ordering
    logger = get_logger()
    os.makedirs(work_dir, exist_ok=True)
    timings, start = {}, time.time()

    def stage(name: str, since: float) -> float:
        timings[name] = round(time.time() - since, 1)
        logger.info(f'demo: {name} took {timings[name]} s')
        return time.time()

    t = time.time()
    classifier_path = osp.join(work_dir, 'shapes_classifier.safetensors')
    cfg = load_config(TINY_CONFIG, cfg_options, work_dir=osp.join(work_dir, 'vidrd'))
    _use_classifier(cfg, classifier_path)
    runner = build_runner(cfg)
    runner.train()
    train_iters = runner.iter
    iter_times = runner.message_hub.get_scalar('train/time').data[0]
    seconds_per_iter = float(iter_times[1:].mean() if len(iter_times) > 1 else iter_times.mean())
    t = stage('train VidRD', t)

    _, classifier_accuracy = train_demo_classifier(cfg.train_dataloader.dataset.to_dict(),
                                                   classifier_path, classifier_iters)
    t = stage('train feature network', t)

    metrics = runner.test()
    ordering = shapes_metric_ordering(cfg, runner.model, classifier_path)
    t = stage('test', t)

    model = runner.model
    model.eval()
    heldout_prompts = list(runner.test_dataloader.dataset.heldout_prompts())
    samplers = load_sampler_configs(LONG_VIDEO_SAMPLERS)
    long_dir = osp.join(work_dir, 'long_videos')
    ablation = run_long_video_ablation(model, heldout_prompts * ablation_videos, samplers,
                                       num_clips=long_video_clips, seed=0,
                                       strip=osp.join(long_dir, 'ablation_side_by_side'))
    strip = ablation.pop('strip')
    long_videos = generate_long_video(model, heldout_prompts[:long_video_prompts],
                                      num_clips=long_video_clips, seed=0,
                                      sampler_cfg=samplers['vidrd_full'], out_dir=long_dir)
    stage('long videos', t)

    report = dict(
        wall_time_s=round(time.time() - start, 1), timings_s=timings,
        train_iterations=train_iters,
        train_iterations_per_s=round(1.0 / seconds_per_iter, 3),
        test_metrics={k: (round(v, 4) if isinstance(v, float) else v)
                      for k, v in metrics.items()},
        feature_network_accuracy=classifier_accuracy,
        metric_ordering=ordering,
        chance={'color': 1 / 4, 'shape': 1 / 3, 'direction': 1 / 4},
        heldout_prompts=heldout_prompts,
        long_video_ablation=ablation, long_video_claims=paper_claims(ablation),
        long_video_settings=dict(clips=long_video_clips, samplers=LONG_VIDEO_SAMPLERS,
                                 videos_per_prompt=ablation_videos, side_by_side=strip),
        files=dict(checkpoints=runner.work_dir, test_videos=osp.join(runner.work_dir, 'videos'),
                   long_videos=[v.files for v in long_videos],
                   ablation_side_by_side=strip['files'], classifier=classifier_path))
    _write_report(work_dir, report)
    return report


def app_command(work_dir: str = 'work_dirs/demo') -> str:
    """The command that serves the web app on the model the demo trained in ``work_dir``."""
    pointer = osp.join(work_dir, 'vidrd', 'last_checkpoint')  # written by mmengine
    checkpoint = osp.join(work_dir, 'vidrd', 'iter_N.pth')
    if osp.isfile(pointer):
        with open(pointer) as f:
            checkpoint = osp.relpath(f.read().strip())
    return (f'python tools/app.py {osp.relpath(TINY_CONFIG)} {checkpoint} '
            f'--sampler-config {osp.relpath(osp.join(LONG_VIDEO_SAMPLERS, "vidrd_full.py"))}')


def _write_report(work_dir: str, report: Dict) -> None:
    with open(osp.join(work_dir, 'report.json'), 'w') as f:
        json.dump(report, f, indent=2, default=str)
    m = report['test_metrics']
    lines = [
        '# vidrd embedded demo', '',
        f"Wall time: {report['wall_time_s']} s ({report['timings_s']}).",
        f"Training: {report['train_iterations']} iterations, "
        f"{report['train_iterations_per_s']} it/s.", '',
        '## Held-out prompts (never seen in training)', '',
        '| metric | value | chance |', '|---|---|---|',
    ]
    for key in ('color', 'shape', 'direction', 'joint'):
        value = m.get(f'shapes/{key}')
        chance = report['chance'].get(key, '')
        lines.append(f'| {key} accuracy | {value} | {chance} |')
    for key, value in m.items():
        if not key.startswith('shapes/'):
            lines.append(f'| {key} | {value} | |')
    lines += ['', f"Feature network accuracy on real held-out clips: "
              f"{report['feature_network_accuracy']}", '',
              '## FVD / IS of real clips, the trained and an untrained model (all combinations)',
              '', '| videos | FVD | IS |', '|---|---|---|']
    ordering = report['metric_ordering']
    for name in ('real', 'trained', 'untrained'):
        lines.append(f"| {name} | {ordering[name]['FVD']:.2f} | {ordering[name]['IS']:.2f} |")
    lines += ['', f"Ordered as expected: {ordering['ordered']}", '']
    lines += _ablation_lines(report)
    lines += ['', '## Files', '']
    lines += [f'- {k}: {v}' for k, v in report['files'].items()]
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _ablation_lines(report: Dict) -> list:
    settings, table = report['long_video_settings'], report['long_video_ablation']
    strip = settings['side_by_side']
    clips = settings['clips']
    lines = ['## Long videos: the paper\'s ablation (held-out prompts)', '',
             f"{clips} clips per video, {settings['videos_per_prompt']} videos per held-out "
             f"prompt (seeds differ), sampler configs of "
             f"`{osp.relpath(settings['samplers'], REPO)}`. Boundary jump ratio: the shape's "
             'displacement across a clip boundary over the median step within a clip (1 = as '
             'smooth as within a clip).', '',
             '| sampler | boundary ratio | direction per clip | colour per clip | repeated | '
             'reversed |', '|---|---|---|---|---|---|']
    for name, row in table.items():
        direction = ' / '.join(f"{row.get(f'direction_clip{i}', float('nan')):.2f}"
                               for i in range(clips))
        color = ' / '.join(f"{row.get(f'color_clip{i}', float('nan')):.2f}"
                           for i in range(clips))
        lines.append(f"| {name} | {row['boundary_ratio']:.2f} | {direction} | {color} | "
                     f"{row['repeated_clips']} | {row['reversed_clips']} |")
    lines += ['', f"Side by side ({', '.join(strip['columns'])}; prompt \"{strip['prompt']}\"): "
              f"{strip['files']['mp4']}", '', '### What the table says about the paper\'s claims',
              '']
    lines += [f'- {claim}' for claim in report['long_video_claims']]
    return lines
