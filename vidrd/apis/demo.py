"""The embedded demo: train, test and sample a tiny VidRD on generated moving shapes, on the CPU.

Stages (each logged with its wall time, all outputs under ``work_dir``):

1. train the tiny VidRD (``configs/vidrd_tiny_shapes.py``) with mmengine's Runner;
2. train the in-domain feature network (a small colour x shape x direction classifier) that
   FVD and IS use on this domain;
3. test on held-out prompts (colour/shape/direction combinations never seen in training):
   in-domain attribute accuracy, FVD and IS, sample videos (mp4 + gif); then check that FVD
   and IS rank real clips, the trained model and an untrained one in that order, on prompts
   of every combination;
4. long videos on the held-out prompts, 3 clips each: the paper's ablation (full Reuse and
   Diffuse, no FNR, no PNS, no DSG, independent clips; ``configs/ablations/tiny_shapes``) and
   the methods after the paper (temporal co-denoising, FIFO-Diffusion, reconstruction
   guidance; ``configs/long_video/tiny_shapes``), scored with ``LongVideoContinuity`` with
   their compute per frame; the model's own sampler again over 6 clips; a side-by-side video
   and a PNG strip of one prompt under every sampler; long videos of two prompts and a 6-clip
   storyline (two prompts, three clips each) as files;
5. write ``report.md`` / ``report.json``: figures, which claims they support, timings and
   where everything is.
"""
import json
import os
import os.path as osp
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional

from vidrd.utils.logging import get_logger

from .config_files import shipped_config
from .run_config import build_runner, load_config, sampler_autocast, with_sampling_amp

#: the demo's model config, inside the configs folder
TINY_CONFIG = 'vidrd_tiny_shapes.py'
#: the paper's ablation rows and the methods after it, at the tiny model's size (folders inside
#: the configs folder)
PAPER_SAMPLERS = osp.join('ablations', 'tiny_shapes')
METHOD_SAMPLERS = osp.join('long_video', 'tiny_shapes')


@dataclass
class DemoPlan:
    """What :func:`run_demo` will do and where: every setting and path, decided up front.

    Attributes:
        work_dir (str): the folder of every output.
        config (str): the tiny model's config file.
        paper_samplers (str): the folder of the paper's ablation sampler configs.
        method_samplers (str): the folder of the sampler configs of the methods after it.
        cfg_options (dict, optional): overrides of the config's entries.
        classifier_iters (int): training iterations of the feature network.
        long_video_prompts (int): prompts whose long videos are written as files.
        long_video_clips (int): clips per video of the ablation.
        longer_clips (int): clips per video of the model's own sampler's longer run (and of
            the storyline).
        ablation_videos (int): videos per held-out prompt for every sampler.
        amp (str): the precision of every sampler's U-Net calls: ``'auto'`` (bf16 on a GPU
            that has it or a CPU with AMX, fp32 otherwise), ``'bf16'`` or ``'fp32'``.
    """
    work_dir: str
    config: str
    paper_samplers: str
    method_samplers: str
    cfg_options: Optional[dict] = None
    classifier_iters: int = 300
    long_video_prompts: int = 2
    long_video_clips: int = 3
    longer_clips: int = 6
    ablation_videos: int = 2
    amp: str = 'auto'

    @property
    def classifier(self) -> str:
        """str: the feature network's weights file (trained by the demo)."""
        return osp.join(self.work_dir, 'shapes_classifier.safetensors')

    @property
    def model_work_dir(self) -> str:
        """str: the Runner's work dir (checkpoints, logs, test videos)."""
        return osp.join(self.work_dir, 'vidrd')

    @property
    def long_video_dir(self) -> str:
        """str: the folder of the long videos and the side-by-side strip."""
        return osp.join(self.work_dir, 'long_videos')


def plan_demo(work_dir: str = 'work_dirs/demo', cfg_options: Optional[dict] = None,
              classifier_iters: int = 300, long_video_prompts: int = 2,
              long_video_clips: int = 3, longer_clips: int = 6, ablation_videos: int = 2,
              configs_dir: Optional[str] = None, amp: str = 'auto') -> DemoPlan:
    """Decide the demo's settings and find its configs; nothing runs.

    Args:
        work_dir (str): the folder of every output. Defaults to ``'work_dirs/demo'``.
        cfg_options (dict, optional): overrides of the model config's entries. Defaults to None.
        classifier_iters (int): training iterations of the feature network. Defaults to 300.
        long_video_prompts (int): prompts whose long videos are written as files. Defaults to 2.
        long_video_clips (int): clips per video of the ablation. Defaults to 3.
        longer_clips (int): clips per video of the model's own sampler's longer run and of the
            storyline. Defaults to 6.
        ablation_videos (int): videos per held-out prompt for every sampler. Defaults to 2.
        configs_dir (str, optional): the configs folder (the tools' ``--configs-dir``).
            Defaults to None: the shipped configs
            (:func:`vidrd.apis.config_files.find_configs_dir`).
        amp (str): the precision of every sampler's U-Net calls (the tool's ``--amp``):
            ``'auto'``, ``'bf16'`` or ``'fp32'``. Defaults to ``'auto'``.

    Returns:
        DemoPlan: the plan :func:`run_demo_plan` carries out.

    Raises:
        FileNotFoundError: no configs folder is found.
    """
    return DemoPlan(
        work_dir=work_dir, config=shipped_config(TINY_CONFIG, configs_dir=configs_dir),
        paper_samplers=shipped_config(PAPER_SAMPLERS, configs_dir=configs_dir),
        method_samplers=shipped_config(METHOD_SAMPLERS, configs_dir=configs_dir),
        cfg_options=cfg_options, classifier_iters=classifier_iters,
        long_video_prompts=long_video_prompts, long_video_clips=long_video_clips,
        longer_clips=longer_clips, ablation_videos=ablation_videos, amp=amp)


@dataclass
class StageTimer:
    """The wall time of each named stage of a run, logged as each stage ends.

    Attributes:
        timings (dict[str, float]): stage name -> seconds (one decimal), in the order run.
        start (float): when the run began (``time.time()``).
    """
    timings: Dict[str, float] = field(default_factory=dict)
    start: float = field(default_factory=time.time)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name`` (recorded only when it completes).

        Args:
            name (str): the stage's name in :attr:`timings`.
        """
        since = time.time()
        yield
        self.timings[name] = round(time.time() - since, 1)
        get_logger().info(f'demo: {name} took {self.timings[name]} s')

    def total(self) -> float:
        """float: the seconds since :attr:`start` (one decimal)."""
        return round(time.time() - self.start, 1)


def _use_classifier(cfg, classifier: str) -> None:
    """Point the config's evaluator (attribute accuracy, FVD, IS) at the demo's classifier."""
    for metric in cfg.test_evaluator:
        if 'extractor' in metric:
            metric.extractor.weights = classifier


def _seconds_per_iter(runner) -> float:
    """The mean wall time of a training iteration of ``runner``'s last ``train()``, without
    the first one (its warm-up), from the ``train/time`` its ``IterTimerHook`` logged.

    Args:
        runner (mmengine.runner.Runner): a runner that has trained.

    Returns:
        float: seconds per iteration.
    """
    times = runner.message_hub.get_scalar('train/time')
    return float(times.mean(max(runner.iter - 1, 1)))


def run_demo(work_dir: str = 'work_dirs/demo', cfg_options: Optional[dict] = None,
             **plan_options) -> Dict:
    """Plan the demo and run every stage: :func:`run_demo_plan` of :func:`plan_demo`.

    Long videos: ``ablation_videos`` per held-out prompt for every sampler, of
    ``long_video_clips`` clips, and of ``longer_clips`` for the model's own sampler; files of
    ``long_video_prompts`` prompts.

    Args:
        work_dir (str): the folder of every output. Defaults to ``'work_dirs/demo'``.
        cfg_options (dict, optional): overrides of the model config's entries. Defaults to None.
        **plan_options: the other arguments of :func:`plan_demo` (``classifier_iters``,
            ``long_video_prompts``, ``long_video_clips``, ``longer_clips``,
            ``ablation_videos``, ``configs_dir``), with its defaults.

    Returns:
        dict: the report (see :func:`run_demo_plan`), also written to ``work_dir/report.json``.
    """
    return run_demo_plan(plan_demo(work_dir, cfg_options, **plan_options))


def run_demo_plan(plan: DemoPlan) -> Dict:
    """Carry out a :class:`DemoPlan`: train, test, long videos, report.

    Args:
        plan (DemoPlan): from :func:`plan_demo`.

    Returns:
        dict: the report, also written to ``plan.work_dir/report.json`` and ``report.md``:
        test metrics, FVD / IS ordering, the long-video ablation's scores and cost, the claims
        they support, the timings of every stage (``timings_s``) and where every file is.
    """
    from vidrd.evaluation.feature_extractors.shapes_classifier import train_demo_classifier

    from .generate import generate_long_video
    from .long_video_ablation import (continuation_verdict, load_sampler_configs, paper_claims,
                                      run_long_video_ablation)
    from .metric_ordering import shapes_metric_ordering
    os.makedirs(plan.work_dir, exist_ok=True)
    timer = StageTimer()

    with timer.stage('train VidRD'):
        cfg = load_config(plan.config, with_sampling_amp(plan.cfg_options, plan.amp),
                          work_dir=plan.model_work_dir)
        _use_classifier(cfg, plan.classifier)
        runner = build_runner(cfg)
        runner.train()
        train_iters = runner.iter
        seconds_per_iter = _seconds_per_iter(runner)

    with timer.stage('train feature network'):
        _, classifier_accuracy = train_demo_classifier(cfg.train_dataloader.dataset.to_dict(),
                                                       plan.classifier, plan.classifier_iters)

    with timer.stage('test'):
        metrics = runner.test()
        ordering = shapes_metric_ordering(cfg, runner.model, plan.classifier)

    clips, longer_clips = plan.long_video_clips, plan.longer_clips
    with timer.stage('long videos'):
        model = runner.model
        model.eval()
        heldout_prompts = list(runner.test_dataloader.dataset.heldout_prompts())
        autocast = sampler_autocast(plan.amp)
        samplers = {name: dict(sampler, autocast_dtype=sampler.get('autocast_dtype', autocast))
                    for name, sampler in dict(load_sampler_configs(plan.paper_samplers),
                                              **load_sampler_configs(plan.method_samplers)
                                              ).items()}
        default = _name_of(model.sampler, samplers)
        samplers.setdefault(default, model.sampler)  # a row of its own when no config builds it
        long_dir = plan.long_video_dir
        prompts = heldout_prompts * plan.ablation_videos
        comparison = run_long_video_ablation(model, prompts, samplers, num_clips=clips,
                                             seed=0, strip=osp.join(long_dir, 'side_by_side'))
        longer = run_long_video_ablation(model, prompts, {default: model.sampler},
                                         num_clips=longer_clips, seed=0)
        long_videos = generate_long_video(model, heldout_prompts[:plan.long_video_prompts],
                                          num_clips=clips, seed=0, out_dir=long_dir)
        # a storyline: one prompt for the first half of the clips, another for the rest
        half = longer_clips // 2
        storyline = [heldout_prompts[0]] * half + [heldout_prompts[1]] * (longer_clips - half)
        long_videos += generate_long_video(model, [storyline], seed=0,
                                           out_dir=osp.join(long_dir, 'storyline'))
    runs = {f'{clips} clips': comparison.scores[default],
            f'{longer_clips} clips': longer.scores[default]}

    report = dict(
        wall_time_s=timer.total(), timings_s=timer.timings,
        train_iterations=train_iters,
        train_iterations_per_s=round(1.0 / seconds_per_iter, 3),
        test_metrics={k: (round(v, 4) if isinstance(v, float) else v)
                      for k, v in metrics.items()},
        feature_network_accuracy=classifier_accuracy,
        metric_ordering=ordering,
        chance={'color': 1 / 4, 'shape': 1 / 3, 'direction': 1 / 4},
        heldout_prompts=heldout_prompts,
        long_video_ablation=comparison.scores, long_video_cost=comparison.cost,
        long_video_relative_cost=comparison.relative_cost('vidrd_full'),
        long_video_longer=longer.scores[default],
        long_video_claims=[continuation_verdict(default, runs)] + paper_claims(
            comparison.scores),
        long_video_settings=dict(clips=clips, longer_clips=longer_clips,
                                 default_sampler=default,
                                 samplers=[plan.paper_samplers, plan.method_samplers],
                                 videos_per_prompt=plan.ablation_videos, amp=plan.amp,
                                 side_by_side=vars(comparison.side_by_side),
                                 storyline=dict(prompts=storyline,
                                                files=long_videos[-1].files)),
        files=dict(checkpoints=runner.work_dir, test_videos=osp.join(runner.work_dir, 'videos'),
                   long_videos=[v.files for v in long_videos],
                   side_by_side=comparison.side_by_side.files, classifier=plan.classifier))
    _write_report(plan.work_dir, report)
    return report


def _name_of(sampler, samplers: Dict[str, dict]) -> str:
    """The name of the config in ``samplers`` that builds ``sampler`` (same settings), else
    ``'model default'``."""
    from .generate import build_sampler
    return next((name for name, cfg in samplers.items()
                 if repr(build_sampler(cfg)) == repr(sampler)), 'model default')


def app_command(work_dir: str = 'work_dirs/demo', configs_dir: Optional[str] = None) -> str:
    """The command that serves the web app on the model the demo trained in ``work_dir``.

    Args:
        work_dir (str): the demo's work dir. Defaults to ``'work_dirs/demo'``.
        configs_dir (str, optional): the configs folder the demo used. Defaults to None (the
            shipped configs).

    Returns:
        str: ``python tools/app.py CONFIG CHECKPOINT``, paths relative to the current folder
        (``iter_N.pth`` when the demo has not trained yet).
    """
    pointer = osp.join(work_dir, 'vidrd', 'last_checkpoint')  # written by mmengine
    checkpoint = osp.join(work_dir, 'vidrd', 'iter_N.pth')
    if osp.isfile(pointer):
        with open(pointer) as f:
            checkpoint = osp.relpath(f.read().strip())
    config = shipped_config(TINY_CONFIG, configs_dir=configs_dir)
    return f'python tools/app.py {osp.relpath(config)} {checkpoint}'


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
    lines += _ablation_lines(report, work_dir)
    lines += ['', '## Files', '']
    lines += [f'- {k}: {v}' for k, v in report['files'].items()]
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _ablation_lines(report: Dict, work_dir: str) -> list:
    settings, table = report['long_video_settings'], report['long_video_ablation']
    cost, relative = report['long_video_cost'], report['long_video_relative_cost']
    strip, clips = settings['side_by_side'], settings['clips']
    default = settings['default_sampler']

    def accuracy(row, key, count):
        return ' / '.join(f"{row.get(f'{key}_clip{i}', float('nan')):.2f}" for i in range(count))

    lines = ['## Long videos (held-out prompts)', '',
             f"{clips} clips per video, {settings['videos_per_prompt']} videos per held-out "
             'prompt (seeds differ). Rows: the paper\'s ablation (`configs/ablations/'
             'tiny_shapes`), then the methods after it (`configs/long_video/tiny_shapes`). '
             'Ratio: the shape\'s displacement across a clip boundary (or a window seam) over '
             'the median step within a clip (1 = as smooth as within a clip); largest step: '
             'the largest displacement anywhere in a video over that median (mean over '
             'videos). Compute: seconds per generated frame relative to full Reuse and '
             'Diffuse, measured in this run, and frames through the U-Net per generated frame '
             '(forward passes; reconstruction guidance also runs a backward pass).', '',
             '| sampler | ratio | largest step | direction per clip | colour per clip | '
             'repeated | reversed | one shape | time / frame | U-Net frames / frame |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for name, row in table.items():
        label = f'**{name}** (the model\'s default)' if name == default else name
        lines.append(
            f"| {label} | {row['boundary_ratio']:.2f} | "
            f"{row.get('largest_step_ratio', float('nan')):.2f} | {accuracy(row, 'direction', clips)}"
            f" | {accuracy(row, 'color', clips)} | {row['repeated_clips']} | "
            f"{row['reversed_clips']} | {row.get('one_shape_fraction', float('nan')):.0%} | "
            f"{relative[name]:.2f}x | {cost[name]['unet_frames_per_frame']:.0f} |")
    longer, count = report['long_video_longer'], settings['longer_clips']
    lines += ['', f"{default} over {count} clips: ratio {longer['boundary_ratio']:.2f}, largest "
              f"step {longer.get('largest_step_ratio', float('nan')):.2f}, direction per clip "
              f"{accuracy(longer, 'direction', count)}, colour per clip "
              f"{accuracy(longer, 'color', count)}, {longer['repeated_clips']} repeated / "
              f"{longer['reversed_clips']} reversed clips, one shape in "
              f"{longer.get('one_shape_fraction', float('nan')):.0%} of frames.", '',
              f"Prompt \"{strip['prompt']}\" under every sampler (rows; a tick marks where a "
              'clip begins):', '', f"![long videos]({osp.relpath(strip['files']['png'], work_dir)})", '',
              f"Side by side ({', '.join(strip['columns'])}): {strip['files']['mp4']}", '',
              f"A {count}-clip storyline with {default} (clip i follows line i of "
              f"{settings['storyline']['prompts']}): {settings['storyline']['files']['mp4']}",
              '',
              '### What the table says', '']
    lines += [f'- {claim}' for claim in report['long_video_claims']]
    return lines
