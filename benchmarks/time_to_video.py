"""Time to a long video at equal quality: how close each sampling setting gets to a converged
solution, and how many seconds a generated long-video frame costs with it.

A *setting* names a sampling scheduler, its step count and optionally step caching:
``ddim-50``, ``dpmpp-15`` (DPM-Solver++ 2M), ``unipc-10`` (UniPC, bh2), ``dpmpp-15+cache3``
(DeepCache: a full U-Net call every 3 calls, branch 2) or ``...+cache3b1`` (branch 1).

1. ``quality``: the distance of each setting's final latents to a converged solution from the
   same noise (DDIM at ``--reference-steps``, 250 by default), ``||z - z_ref|| / ||z_ref||``
   per video over all clips (and over the first clip alone: later clips inherit every earlier
   difference), averaged over videos and seeds, and that distance over DDIM-50's (at most 1:
   as close as DDIM-50). DDIM's grid ('leading' spacing) starts at T - T / S, the solvers'
   ('linspace') at T - 1: under a cosine schedule (the demo's) the start itself differs a lot
   (alpha_bar 1e-3 at t = 980 against 2e-6 at 999), so there the reference is DDIM over all
   1000 trained timesteps (``--reference-steps 1000``), which starts where the solvers do.
   The model is the issue-14 benchmark size (widths 64 128 256 256, heads of 64, text width
   1024, 8 frames of 32 x 32 latents, guidance 7.5, FNR + PNS (alpha 4) + DSG (beta 0.4),
   random weights) or a trained model (``--config``/``--checkpoint``: the demo's, with its
   paper-sampler config ``--sampler-config``, held-out prompts).

       python benchmarks/time_to_video.py quality --seeds 0 --clips 1
       python benchmarks/time_to_video.py quality --config C --checkpoint K \\
           --sampler-config configs/ablations/tiny_shapes/vidrd_full.py --seeds 0 1 2

2. ``scores`` (a trained moving-shapes model): per setting and seed, long videos of the
   held-out test prompts with the sampler config: first-clip attribute accuracy (colour, shape,
   direction), FVD of the first clips against the held-out test videos (the demo's classifier
   features), and ``LongVideoContinuity`` (boundary ratio, direction over clips).

       python benchmarks/time_to_video.py scores --config C --checkpoint K \\
           --sampler-config configs/ablations/tiny_shapes/vidrd_full.py \\
           --classifier work_dirs/demo/shapes_classifier.safetensors --seeds 0 1 2

3. ``speed``: seconds per generated long-video frame at the benchmark size, each setting in a
   fresh process, fp32 and bf16 autocast (``--amp``), against the original release (DDIM 50,
   fp32; ``--original DIR``, its own environment, see benchmarks/README.md) in the same run,
   alternated ``--rounds`` times.

       python benchmarks/time_to_video.py speed --original /work/orig_vidrd/src \\
           --settings ddim-50 dpmpp-15 dpmpp-15+cache3 --amp fp32 bf16 --clips 2

Every subcommand prints one JSON line per row and, with ``--json``, writes them all.
"""
import argparse
import copy
import json
import os
import os.path as osp
import re
import statistics
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Dict, List, Optional

import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from vidrd.models.long_video import ReuseAndDiffuseSampler  # noqa: E402
from vidrd.registry import DIFFUSION_SCHEDULERS  # noqa: E402

SCHEDULERS = dict(ddim='DDIMScheduler', dpmpp='DPMSolverMultistepScheduler',
                  unipc='UniPCMultistepScheduler')
#: the DDIM-only keys a solver's constructor does not take
DDIM_ONLY = ('eta',)
DEFAULT_SETTINGS = ['ddim-50', 'ddim-20', 'dpmpp-5', 'dpmpp-6', 'dpmpp-8', 'dpmpp-10',
                    'dpmpp-15', 'unipc-5', 'unipc-6', 'unipc-8', 'unipc-10', 'unipc-15',
                    'dpmpp-8+cache2', 'dpmpp-10+cache2', 'dpmpp-15+cache2', 'dpmpp-15+cache3',
                    'unipc-8+cache2', 'unipc-10+cache2', 'unipc-15+cache2']


@dataclass(frozen=True)
class Setting:
    """One sampling setting: scheduler, steps, step caching (interval 0 = off)."""
    scheduler: str
    steps: int
    cache_interval: int = 0
    cache_branch: int = 2

    @classmethod
    def parse(cls, name: str) -> 'Setting':
        match = re.fullmatch(r'(ddim|dpmpp|unipc)-(\d+)(?:\+cache(\d+)(?:b(\d+))?)?', name)
        if match is None:
            raise SystemExit(f'setting {name!r}: use SCHEDULER-STEPS[+cacheI[bB]] with '
                             f'SCHEDULER in {sorted(SCHEDULERS)}, e.g. dpmpp-15+cache3')
        scheduler, steps, interval, branch = match.groups()
        return cls(scheduler, int(steps), int(interval or 0), int(branch or 2))

    @property
    def name(self) -> str:
        cache = ''
        if self.cache_interval:
            cache = f'+cache{self.cache_interval}' + (
                f'b{self.cache_branch}' if self.cache_branch != 2 else '')
        return f'{self.scheduler}-{self.steps}{cache}'

    @property
    def step_cache(self) -> Optional[dict]:
        return (dict(interval=self.cache_interval, branch=self.cache_branch)
                if self.cache_interval else None)

    def build_scheduler(self, base_cfg: dict):
        """The scheduler of ``base_cfg`` (a DDIM config: the model's) with this type."""
        cfg = dict(base_cfg, type=SCHEDULERS[self.scheduler])
        if self.scheduler != 'ddim':
            for key in DDIM_ONLY:
                cfg.pop(key, None)
        return DIFFUSION_SCHEDULERS.build(cfg)

    def sampler(self, sampler_cfg: dict, amp: Optional[str] = None) -> ReuseAndDiffuseSampler:
        cfg = {k: v for k, v in sampler_cfg.items() if k != 'type'}
        cfg.update(num_inference_steps=self.steps, step_cache=self.step_cache, progress=False)
        if amp:
            cfg['autocast_dtype'] = None if amp == 'fp32' else amp
        return ReuseAndDiffuseSampler(**cfg)


# --- the models -----------------------------------------------------------------------------
def benchmark_model(args):
    """The issue-14 benchmark size, random weights: (unet, scheduler cfg, embeds, latent shape,
    sampler cfg)."""
    from long_video_benchmark import ORIGINAL_STRATEGIES, issue_size_unet
    unet = issue_size_unet(args)
    g = torch.Generator().manual_seed(0)
    embeds = (torch.randn(1, 77, args.cross_dim, generator=g),
              torch.randn(1, 77, args.cross_dim, generator=g))
    sampler_cfg = dict(num_frames=args.num_frames, num_prompt_frames=args.num_prompt_frames,
                       guidance_scale=args.guidance_scale, strategies=ORIGINAL_STRATEGIES)
    return SimpleNamespace(unet=unet, scheduler_cfg=dict(type='DDIMScheduler'), embeds=embeds,
                           latent_shape=(4, args.latent_size, args.latent_size),
                           sampler_cfg=sampler_cfg, decode=None)


def trained_model(args):
    """A model from ``--config``/``--checkpoint`` with the ``--sampler-config`` sampler."""
    from mmengine.config import Config

    from vidrd.apis import load_generation_model
    from vidrd.apis.sampler_overlay import overlay_sampler
    from vidrd.datasets import MovingShapesDataset
    from vidrd.models.long_video import encode_prompts
    model = load_generation_model(args.config, args.checkpoint, device='cpu',
                                  sampler_config=args.sampler_config,
                                  cfg_options={'log_level': 'WARNING'})
    cfg = Config.fromfile(args.config)
    sampler_cfg = overlay_sampler(cfg.model, Config.fromfile(args.sampler_config)
                                  .long_video_sampler.to_dict()) if args.sampler_config else \
        dict(cfg.model.long_video_sampler)
    if sampler_cfg.get('type', 'ReuseAndDiffuseSampler') != 'ReuseAndDiffuseSampler':
        raise SystemExit(f'{args.sampler_config or args.config}: the settings are compared on '
                         'the clip-after-clip sampler (ReuseAndDiffuseSampler); give its config '
                         'with --sampler-config')
    prompts = args.prompts or MovingShapesDataset(num_samples=1).heldout_prompts()
    embeds = tuple(e.float() for e in encode_prompts(model.text_encoder, prompts,
                                                     model.negative_prompt))
    factor = model.vae.spatial_compression
    h, w = model.resolution
    scheduler_cfg = cfg.model.get('sampling_scheduler') or dict(type='DDIMScheduler')
    scheduler_cfg = dict(scheduler_cfg, prediction_type=model.noise_schedule.prediction_type)
    return SimpleNamespace(model=model, unet=model.unet, scheduler_cfg=scheduler_cfg,
                           embeds=embeds, prompts=prompts, sampler_cfg=sampler_cfg,
                           latent_shape=(model.vae.config['latent_channels'], h // factor,
                                         w // factor))


# --- 1. quality: distance to a converged solution ------------------------------------------------
def final_latents(bundle, setting: Setting, seed: int, clips: int) -> torch.Tensor:
    sampler = setting.sampler(bundle.sampler_cfg)
    with torch.no_grad():
        out = sampler.sample(bundle.unet, setting.build_scheduler(bundle.scheduler_cfg),
                             *bundle.embeds, latent_shape=bundle.latent_shape, num_clips=clips,
                             seed=seed)
    return out.clip_latents.float()


def distance(z: torch.Tensor, reference: torch.Tensor) -> float:
    """``||z - z_ref|| / ||z_ref||`` of each video, averaged over the videos; ``z`` and
    ``reference`` are the sampler's ``clip_latents``, (K clips, B, C, n, h, w)."""
    diff, ref = (z - reference).transpose(0, 1).flatten(1), reference.transpose(0, 1).flatten(1)
    return (diff.norm(dim=1) / ref.norm(dim=1)).mean().item()


def reference_latents(args, bundle, setting: Setting, seed: int) -> torch.Tensor:
    """The converged solution of ``seed``, read from / written to ``--reference-cache`` (a
    folder; the file name says the model, the steps, the clips and the seed)."""
    path = None
    if args.reference_cache:
        model = osp.splitext(osp.basename(args.checkpoint))[0] if args.config else 'benchmark'
        path = osp.join(args.reference_cache,
                        f'{model}_{setting.name}_clips{args.clips}_seed{seed}.pt')
        if osp.isfile(path):
            print(f'seed {seed}: reference {setting.name} read from {path}', flush=True)
            return torch.load(path)
    start = time.perf_counter()
    reference = final_latents(bundle, setting, seed, args.clips)
    print(f'seed {seed}: reference {setting.name} {time.perf_counter() - start:.1f} s',
          flush=True)
    if path:
        os.makedirs(args.reference_cache, exist_ok=True)
        torch.save(reference, path)
    return reference


def quality(args) -> List[dict]:
    bundle = trained_model(args) if args.config else benchmark_model(args)
    settings = [Setting.parse(s) for s in args.settings]
    if not any(s.name == 'ddim-50' for s in settings):
        settings.insert(0, Setting('ddim', 50))
    reference_setting = Setting('ddim', args.reference_steps)
    per_seed: Dict[str, List[float]] = {s.name: [] for s in settings}
    first_clip: Dict[str, List[float]] = {s.name: [] for s in settings}
    seconds: Dict[str, float] = {}
    for seed in args.seeds:
        reference = reference_latents(args, bundle, reference_setting, seed)
        for setting in settings:
            start = time.perf_counter()
            z = final_latents(bundle, setting, seed, args.clips)
            seconds[setting.name] = time.perf_counter() - start
            per_seed[setting.name].append(distance(z, reference))
            first_clip[setting.name].append(distance(z[:1], reference[:1]))
            print(f'seed {seed}: {setting.name}: distance {per_seed[setting.name][-1]:.4f}, '
                  f'first clip {first_clip[setting.name][-1]:.4f} '
                  f'({seconds[setting.name]:.1f} s)', flush=True)
    baseline = statistics.mean(per_seed['ddim-50'])
    rows = []
    for setting in settings:
        values = per_seed[setting.name]
        mean = statistics.mean(values)
        rows.append(dict(setting=setting.name, reference=reference_setting.name,
                         distance=round(mean, 5),
                         distance_sd=round(statistics.stdev(values), 5) if len(values) > 1
                         else None,
                         distance_per_seed=[round(v, 5) for v in values],
                         over_ddim50=round(mean / baseline, 3),
                         as_close_as_ddim50=mean <= baseline,
                         first_clip_distance=round(statistics.mean(first_clip[setting.name]), 5),
                         first_clip_over_ddim50=round(
                             statistics.mean(first_clip[setting.name])
                             / statistics.mean(first_clip['ddim-50']), 3),
                         seconds=round(seconds[setting.name], 2)))
        print(json.dumps(rows[-1]), flush=True)
    return rows


# --- 2. scores on the moving-shapes demo -----------------------------------------------------------
def heldout_test_videos(config: str):
    """The config's test split: captions and real videos (N, 3, F, H, W) in [-1, 1]."""
    from mmengine.config import Config

    from vidrd.registry import DATASETS
    cfg = Config.fromfile(config)
    dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    captions, videos = [], []
    for idx in range(len(dataset)):
        captions.append(dataset.get_data_info(idx)['caption'])
        frames = torch.from_numpy(dataset.render(idx)).float()  # (F, H, W, 3) uint8
        videos.append(frames.permute(3, 0, 1, 2) / 127.5 - 1)
    return captions, torch.stack(videos)


def first_clip_scores(videos: torch.Tensor, captions: List[str], real: torch.Tensor,
                      num_frames: int, classifier: Optional[str]) -> dict:
    """Attribute accuracy and FVD of the first clips (B, 3, F, H, W)."""
    from vidrd.datasets.moving_shapes_attributes import measure_attributes
    from vidrd.registry import METRICS
    first = videos[:, :, :num_frames]
    hits = {a: [] for a in ('color', 'shape', 'direction')}
    for video, caption in zip(first, captions):
        words = caption.split()  # 'a COLOR SHAPE moving DIRECTION'
        truth = dict(color=words[1], shape=words[2], direction=words[4])
        measured = measure_attributes(video)
        for name in hits:
            hits[name].append(measured[name] == truth[name])
    scores = {f'{name}_accuracy': sum(v) / len(v) for name, v in hits.items()}
    if classifier:
        metric = METRICS.build(dict(type='FrechetVideoDistance', extractor=dict(
            type='ShapesClassifier', weights=classifier)))
        metric.process(None, [dict(video=f, gt_video=r) for f, r in zip(first, real)])
        scores.update(metric.compute_metrics(metric.results))
    return scores


def scores(args) -> List[dict]:
    from vidrd.apis.long_video_ablation import continuity_scores
    if not args.config:
        raise SystemExit('scores: give --config and --checkpoint of a moving-shapes model')
    captions, real = heldout_test_videos(args.config)
    args.prompts = captions
    bundle = trained_model(args)
    model = bundle.model
    rows = []
    for name in args.settings:
        setting = Setting.parse(name)
        model.sampling_scheduler = setting.build_scheduler(bundle.scheduler_cfg)
        sampler = setting.sampler(bundle.sampler_cfg)
        layout = sampler.layout(args.clips)
        for seed in args.seeds:
            start = time.perf_counter()
            with torch.no_grad():
                videos = model.generate(captions, num_clips=args.clips, seed=seed,
                                        sampler=sampler).cpu().float()
            seconds = time.perf_counter() - start
            samples = [dict(video=v, caption=c, clip_lengths=layout.clip_lengths,
                            prompt_frames=layout.prompt_frames, seams=layout.seams)
                       for v, c in zip(videos, captions)]
            row = dict(setting=setting.name, seed=seed, seconds=round(seconds, 2),
                       **first_clip_scores(videos, captions, real, sampler.num_frames,
                                           args.classifier),
                       **continuity_scores(samples))
            row = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


# --- 3. speed against the original release -------------------------------------------------------
def child_speed(args) -> dict:
    """One setting at the benchmark size in this process: seconds per generated frame."""
    from original_release import peak_rss_mib

    from vidrd.models.vaes import AutoencoderKL
    setting = Setting.parse(args.child_setting)
    bundle = benchmark_model(args)
    vae = AutoencoderKL(block_out_channels=(32,), layers_per_block=1).eval()  # as the original's
    sampler = setting.sampler(bundle.sampler_cfg, amp=args.child_amp)
    frames = []
    start = time.perf_counter()
    with torch.no_grad():
        sampler.sample(bundle.unet, setting.build_scheduler(bundle.scheduler_cfg),
                       *bundle.embeds, latent_shape=bundle.latent_shape, num_clips=args.clips,
                       seed=0, decode_fn=vae.decode_video,
                       sink=lambda clip: frames.append(clip.video.shape[2]))
    seconds = time.perf_counter() - start
    return dict(kind='vidrd', setting=setting.name, amp=args.child_amp, clips=args.clips,
                frames=sum(frames), seconds=seconds, seconds_per_frame=seconds / sum(frames),
                peak_rss_mib=peak_rss_mib())


def speed(args) -> List[dict]:
    from long_video_benchmark import _comparison_args, _run_json
    from unet_benchmark import original_python
    python, why = original_python(args)
    if python is None:
        print(f'original release: NOT MEASURED ({why})', flush=True)
    original_args = SimpleNamespace(**dict(vars(args), steps=50))
    timings: Dict[tuple, List[float]] = {}
    originals: List[float] = []
    for round_index in range(args.rounds):  # alternated: the VM's speed drifts
        if python is not None:
            theirs = _run_json([python, osp.join(HERE, 'original_release.py'), '--release',
                                args.original, 'sampler', '--clips', str(args.clips),
                                *_comparison_args(original_args)], args.threads)
            originals.append(theirs['seconds_per_frame'])
            print(f'round {round_index}: original DDIM 50 fp32 '
                  f'{theirs["seconds_per_frame"]:.3f} s/frame', flush=True)
        for amp in args.amp:
            for name in args.settings:
                ours = _run_json([sys.executable, __file__, 'speed', '--child-setting', name,
                                  '--child-amp', amp, *_speed_child_args(args)], args.threads)
                timings.setdefault((name, amp), []).append(ours['seconds_per_frame'])
                print(f'round {round_index}: {name} {amp} {ours["seconds_per_frame"]:.3f} '
                      f's/frame', flush=True)
    rows = []
    original = statistics.median(originals) if originals else None
    for (name, amp), values in timings.items():
        row = dict(setting=name, amp=amp, seconds_per_frame=round(statistics.median(values), 4),
                   all_seconds_per_frame=[round(v, 4) for v in values])
        if original:
            row.update(original_seconds_per_frame=round(original, 4),
                       over_original=round(row['seconds_per_frame'] / original, 3),
                       pairs=[round(v / o, 3) for v, o in zip(values, originals)])
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _speed_child_args(args) -> List[str]:
    return ['--clips', str(args.clips), '--threads', str(args.threads),
            '--unet-channels', *map(str, args.unet_channels), '--head-dim', str(args.head_dim),
            '--cross-dim', str(args.cross_dim), '--num-frames', str(args.num_frames),
            '--num-prompt-frames', str(args.num_prompt_frames),
            '--latent-size', str(args.latent_size), '--guidance-scale', str(args.guidance_scale)]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('command', choices=('quality', 'scores', 'speed'))
    parser.add_argument('--settings', nargs='+', default=DEFAULT_SETTINGS)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--clips', type=int, default=1)
    parser.add_argument('--reference-steps', type=int, default=250,
                        help='DDIM steps of the converged reference (1000: every trained '
                             'timestep, the start the solvers use)')
    parser.add_argument('--reference-cache', metavar='DIR',
                        help='quality: keep the converged references here and reuse them')
    parser.add_argument('--config', help='a trained model (default: the benchmark size)')
    parser.add_argument('--checkpoint')
    parser.add_argument('--sampler-config', help='the clip-after-clip sampler config to use')
    parser.add_argument('--prompts', nargs='+', help='default: the held-out prompts')
    parser.add_argument('--classifier', help='scores: ShapesClassifier weights (for FVD)')
    parser.add_argument('--original', help='speed: folder of the original release')
    parser.add_argument('--original-python',
                        help='Python of its environment (default: ORIGINAL/../venv/bin/python)')
    parser.add_argument('--amp', nargs='+', default=['fp32'], choices=('fp32', 'bf16', 'fp16'))
    parser.add_argument('--rounds', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--unet-channels', type=int, nargs='+', default=[64, 128, 256, 256])
    parser.add_argument('--latent-size', type=int, default=32)
    parser.add_argument('--cross-dim', type=int, default=1024)
    parser.add_argument('--head-dim', type=int, default=64)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--num-prompt-frames', type=int, default=4)
    parser.add_argument('--guidance-scale', type=float, default=7.5)
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument('--child-setting', help=argparse.SUPPRESS)
    parser.add_argument('--child-amp', help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.child_setting:
        print(json.dumps(child_speed(args)))
        return
    print(f'{args.command}: CPU threads {args.threads}, settings {args.settings}', flush=True)
    rows = dict(quality=quality, scores=scores, speed=speed)[args.command](args)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(settings=vars(args), rows=rows), f, indent=1)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
