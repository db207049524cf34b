"""Benchmark of the Reuse-and-Diffuse sampler: speed, memory and smoothness at clip boundaries.

    python benchmarks/long_video_benchmark.py                       # the fixture's tiny U-Net
    python benchmarks/long_video_benchmark.py --config configs/vidrd_tiny_shapes.py \\
        --checkpoint work_dirs/vidrd_tiny_shapes/iter_1500.pth       # a trained model

1. Seconds per generated frame and peak memory for 1, 4 and 16 clips (the sink drops every
   clip, as a writer would). Memory is the peak of live tensor bytes (every tensor the garbage
   collector sees, storages counted once; weights included), sampled at the first and last step
   of every clip and in the sink, in a second run so that the scans do not slow the timed one;
   on CUDA also ``torch.cuda.max_memory_allocated``. Time should grow linearly with the clips,
   memory stay flat.
2. Boundary smoothness of every sampler config in configs/ablations/: the mean absolute
   difference between consecutive frames across a clip boundary divided by the mean within a
   clip (1 = boundaries as smooth as the clips; larger = visible cuts), over fixed prompts and
   seeds, for the output with all N frames per clip (the original's) and with the repeated
   prompt frames dropped. Only the strategies are taken from each config; N, M, S and guidance
   are the benchmark's so all configs run the same model budget. A small ratio says there is no
   cut, not that the motion goes on: with FNR the prompt frames replay the previous clip's end
   backwards.

3. ``--original DIR``: against the original release's sampler (``SDVideoPipeline``, FNR + PNS +
   DSG) in its own virtual environment, at the U-Net size of issue 14 (widths 64 128 256 256,
   heads of 64, text width 1024, 8 frames of 32 x 32 latents, guidance, 5 DDIM steps, a
   one-level VAE on both sides) for 1, 3 and 8 clips: seconds per frame and peak RSS of the
   process (VmHWM), each run in a fresh subprocess. Only this comparison runs then.

       python benchmarks/long_video_benchmark.py --original /work/orig_vidrd/src \
           [--original-python /work/orig_vidrd/venv/bin/python] [--original-clips 1 3 8] \
           [--rounds 3] [--amp bf16]

   ``--amp bf16`` runs our U-Net under bf16 autocast (faster on CPUs with AMX and on GPUs);
   the original release has no such switch and stays fp32. Where the folder or its environment
   is missing the original is reported as not measured.

The default model is the original U-Net of the reference fixtures (random weights, 16 x 16
pixel frames through ``sd21_tiny/vae``), with fixed random prompt embeddings: its numbers show
the mechanics (costs, what is shared at boundaries), not visual quality.
"""
import argparse
import gc
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import torch
from mmengine.config import Config

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from vidrd.apis.run_config import add_sampling_amp_argument  # noqa: E402
from vidrd.models.long_video import LongVideoStrategy, ReuseAndDiffuseSampler  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--fixtures', default=osp.join(REPO, '..', 'shared', 'fixtures',
                                                       'vidrd_reference'),
                        help='reference fixture folder (default model)')
    parser.add_argument('--config', help='model config (instead of the fixture U-Net)')
    parser.add_argument('--checkpoint', help='checkpoint for --config')
    parser.add_argument('--prompts', nargs='+',
                        default=['a red circle moving left', 'a blue square moving up'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--clip-counts', type=int, nargs='+', default=[1, 4, 16])
    parser.add_argument('--smoothness-clips', type=int, default=4)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--num-prompt-frames', type=int, default=4)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--guidance-scale', type=float, default=7.5)
    parser.add_argument('--resolution', type=int, nargs=2, metavar=('H', 'W'),
                        help='pixels (default: 16 x 16 for the fixture, the model\'s otherwise)')
    parser.add_argument('--ablations', default=osp.join(REPO, 'configs', 'ablations'))
    parser.add_argument('--repeats', type=int, default=2,
                        help='timed runs per clip count; the fastest is reported')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--original', help='folder of the original release: compare with it')
    parser.add_argument('--original-python',
                        help='Python of its environment (default: ORIGINAL/../venv/bin/python)')
    parser.add_argument('--original-clips', type=int, nargs='+', default=[1, 3, 8])
    parser.add_argument('--rounds', type=int, default=1,
                        help='against the original: time ours and the original alternately N '
                             'times per clip count and report the median ratio')
    parser.add_argument('--peers-tuned-allocator', action='store_true',
                        help='run the original release with the C allocator settings vidrd '
                        'applies to itself (vidrd/utils/cpu_allocator.py)')
    parser.add_argument('--unet-channels', type=int, nargs='+', default=[64, 128, 256, 256],
                        help='U-Net widths of the comparison with the original')
    parser.add_argument('--latent-size', type=int, default=32)
    parser.add_argument('--cross-dim', type=int, default=1024)
    parser.add_argument('--head-dim', type=int, default=64)
    add_sampling_amp_argument(parser)  # ours only: the original release stays fp32
    parser.add_argument('--child-ours', type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


# --- models -------------------------------------------------------------------------------------
class FixtureModel:
    """The original tiny U-Net + SD-shaped tiny VAE of the fixtures; prompts -> fixed random
    embeddings (the fixtures have no tokenizer, and the weights are random anyway)."""

    def __init__(self, folder: str, device: str):
        from vidrd.models.schedulers import DDIMScheduler
        from vidrd.models.unets import load_original_unet
        from vidrd.models.vaes import AutoencoderKL
        self.unet = load_original_unet(osp.join(folder, 'vidrd_official_tiny.pth'),
                                       unet_config=osp.join(folder, 'sd21_tiny', 'unet'))
        self.unet = self.unet.to(device).eval()
        self.vae = AutoencoderKL.from_pretrained(osp.join(folder, 'sd21_tiny', 'vae'))
        self.vae = self.vae.to(device).eval()
        self.scheduler = DDIMScheduler.from_config_file(osp.join(folder, 'sd21_tiny', 'scheduler'))
        self.resolution = (16, 16)
        with open(osp.join(folder, 'sd21_tiny', 'unet', 'config.json')) as f:
            self.dim = json.load(f)['cross_attention_dim']

    def encode(self, prompts: List[str]):
        embeds = []
        for prompt in prompts:
            g = torch.Generator().manual_seed(sum(map(ord, prompt)))
            embeds.append(torch.randn(1, 77, self.dim, generator=g))
        return torch.cat(embeds), torch.zeros(len(prompts), 77, self.dim)


class ConfigModel:
    """A model built from a config (+ checkpoint), e.g. the trained tiny demo model."""

    def __init__(self, config: str, checkpoint: str, device: str):
        from vidrd.apis import generation_components, load_generation_model
        self.model = load_generation_model(config, checkpoint, device=device)
        parts = generation_components(self.model)
        self.unet, self.vae, self.scheduler = parts.unet, parts.vae, parts.scheduler
        self.text_encoder = parts.text_encoder
        self.resolution = tuple(getattr(self.model, 'resolution', (256, 256)))

    def encode(self, prompts: List[str]):
        from vidrd.models.long_video import encode_prompts
        return encode_prompts(self.text_encoder, prompts,
                              getattr(self.model, 'negative_prompt', ''))


# --- measurements ---------------------------------------------------------------------------------
def live_tensor_bytes() -> int:
    storages = {}
    for obj in gc.get_objects():
        if issubclass(type(obj), torch.Tensor):
            storage = obj.untyped_storage()
            storages[(storage.device.type, storage.data_ptr())] = storage.nbytes()
    return sum(storages.values())


class PeakProbe(LongVideoStrategy):
    def __init__(self):
        self.peak = 0

    def measure(self):
        self.peak = max(self.peak, live_tensor_bytes())

    def before_step(self, ctx, clip_index, step_index, latents):
        if step_index in (0, ctx.num_steps - 1):
            self.measure()
        return latents


def make_sampler(args, strategies) -> ReuseAndDiffuseSampler:
    return ReuseAndDiffuseSampler(
        num_frames=args.num_frames, num_prompt_frames=args.num_prompt_frames,
        num_inference_steps=args.steps, guidance_scale=args.guidance_scale,
        strategies=strategies, progress=False, autocast_dtype=args.amp)


def run(model, sampler, embeds, latent_shape, num_clips, seed, sink):
    cond, uncond = embeds
    sampler.sample(model.unet, model.scheduler, cond, uncond, latent_shape=latent_shape,
                   num_clips=num_clips, seed=seed, decode_fn=model.vae.decode_video, sink=sink)


def speed_and_memory(args, model, latent_shape, full_strategies) -> List[Dict]:
    embeds = model.encode(args.prompts[:1])
    rows = []
    run(model, make_sampler(args, full_strategies), embeds, latent_shape, 1, 0,
        lambda clip: None)  # warm-up
    for clips in args.clip_counts:
        seconds = float('inf')
        for _ in range(args.repeats):  # the fastest run: the machine may be shared
            frames = []
            start = time.perf_counter()
            run(model, make_sampler(args, full_strategies), embeds, latent_shape, clips, 0,
                lambda clip: frames.append(clip.video.shape[2]))
            seconds = min(seconds, time.perf_counter() - start)
        probe = PeakProbe()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        gc.collect()
        run(model, make_sampler(args, list(full_strategies) + [probe]), embeds, latent_shape,
            clips, 0, lambda clip: probe.measure())
        row = dict(clips=clips, frames=sum(frames), seconds=round(seconds, 2),
                   seconds_per_frame=round(seconds / sum(frames), 4),
                   peak_live_tensor_mib=round(probe.peak / 2 ** 20, 3))
        if torch.cuda.is_available():
            row['cuda_max_allocated_mib'] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
        rows.append(row)
        print(row, flush=True)
    return rows


def _boundary_ratio(clips: List[torch.Tensor]) -> tuple:
    """(sum of boundary differences, count, sum of within-clip differences, count) of the
    video ``clips`` (each (B, 3, F, H, W)) concatenated."""
    video = torch.cat(clips, dim=2)
    diffs = (video[:, :, 1:] - video[:, :, :-1]).abs().mean(dim=(0, 1, 3, 4)).tolist()
    cuts = {sum(c.shape[2] for c in clips[:k + 1]) - 1 for k in range(len(clips) - 1)}
    boundary = [d for t, d in enumerate(diffs) if t in cuts]
    within = [d for t, d in enumerate(diffs) if t not in cuts]
    return sum(boundary), len(boundary), sum(within), len(within)


def boundary_smoothness(args, model, latent_shape, strategies) -> Dict[str, float]:
    """mean |x_{t+1} - x_t| across clip boundaries / the same within clips, for the output
    with all N frames per clip (``kept``, the original) and without the repeated prompt frames
    (``dropped``: the boundary is then last frame of clip i -> first new frame of clip i+1)."""
    totals = dict(kept=[0.0, 0, 0.0, 0], dropped=[0.0, 0, 0.0, 0])
    m = args.num_prompt_frames
    for prompt in args.prompts:
        embeds = model.encode([prompt])
        for seed in args.seeds:
            clips = []
            run(model, make_sampler(args, strategies), embeds, latent_shape,
                args.smoothness_clips, seed, lambda clip: clips.append(clip.video.float()))
            variants = dict(kept=clips, dropped=clips[:1] + [c[:, :, m:] for c in clips[1:]])
            for name, video in variants.items():
                totals[name] = [a + b for a, b in zip(totals[name], _boundary_ratio(video))]
    return {name: round((b / nb) / (w / nw), 3) for name, (b, nb, w, nw) in totals.items()}


# --- against the original release -----------------------------------------------------------
def _comparison_args(args) -> List[str]:
    return ['--channels', *map(str, args.unet_channels), '--head-dim', str(args.head_dim),
            '--cross-dim', str(args.cross_dim), '--frames', str(args.num_frames),
            '--prompt-frames', str(args.num_prompt_frames), '--size', str(args.latent_size),
            '--steps', str(args.steps), '--guidance-scale', str(args.guidance_scale),
            '--threads', str(args.threads)]


#: the original release's default long-video case: FNR + PNS (alpha 4) + DSG (beta 0.4)
ORIGINAL_STRATEGIES = [dict(type='FrameNoiseReversion'),
                       dict(type='PastDependentNoiseSampling', alpha=4.0),
                       dict(type='StagedGuidanceDenoising', beta=0.4)]


def issue_size_unet(args):
    """The U-Net of the comparison with the original release (random weights, seed 0): widths
    ``args.unet_channels``, heads of ``args.head_dim``, text width ``args.cross_dim``."""
    from vidrd.models.unets import UNet3DConditionModel
    torch.manual_seed(0)
    channels = args.unet_channels
    levels = len(channels)
    return UNet3DConditionModel(
        block_out_channels=channels, cross_attention_dim=args.cross_dim,
        num_attention_heads=tuple(max(1, c // args.head_dim) for c in channels),
        down_block_types=('CrossAttnDownBlock2D',) * (levels - 1) + ('DownBlock2D',),
        up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',) * (levels - 1)).eval()


def ours_at_issue_size(args, clips: int) -> dict:
    """Our sampler (FNR + PNS + DSG as the original's defaults) with the original's U-Net
    flags at the comparison size; clips go to a sink that drops them, as a writer would."""
    from original_release import peak_rss_mib
    from vidrd.models.schedulers import DDIMScheduler
    from vidrd.models.vaes import AutoencoderKL
    unet = issue_size_unet(args)
    vae = AutoencoderKL(block_out_channels=(32,), layers_per_block=1).eval()  # as the original's
    sampler = make_sampler(args, ORIGINAL_STRATEGIES)
    g = torch.Generator().manual_seed(0)
    cond = torch.randn(1, 77, args.cross_dim, generator=g)
    uncond = torch.randn(1, 77, args.cross_dim, generator=g)
    frames = []
    start = time.perf_counter()
    sampler.sample(unet, DDIMScheduler(), cond, uncond, num_clips=clips, seed=0,
                   latent_shape=(4, args.latent_size, args.latent_size),
                   decode_fn=vae.decode_video, sink=lambda clip: frames.append(clip.video.shape[2]))
    seconds = time.perf_counter() - start
    return dict(kind='vidrd', clips=clips, frames=sum(frames), seconds=seconds,
                seconds_per_frame=seconds / sum(frames), peak_rss_mib=peak_rss_mib())


def _run_json(cmd, threads: int, extra_env=None) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **(extra_env or {}))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare_with_original(args) -> dict:
    from unet_benchmark import original_python
    from vidrd.utils.cpu_allocator import GLIBC_ENVIRONMENT
    python, why = original_python(args)
    print(f'against the original release: U-Net widths {args.unet_channels}, heads of '
          f'{args.head_dim}, text width {args.cross_dim}, N={args.num_frames} '
          f'M={args.num_prompt_frames} S={args.steps} w={args.guidance_scale}, latents '
          f'{args.latent_size}x{args.latent_size}, {args.threads} thread(s); the original\'s '
          f'allocator: {"tuned as vidrd" if args.peers_tuned_allocator else "default"}',
          flush=True)
    if python is None:
        print(f'original release: NOT MEASURED ({why})', flush=True)
    rows = []
    for clips in args.original_clips:
        pairs = []
        for _ in range(args.rounds):  # alternated: the VM's speed drifts from minute to minute
            ours = _run_json([sys.executable, __file__, '--child-ours', str(clips),
                              *sys.argv[1:]], args.threads)
            theirs = None if python is None else _run_json(
                [python, osp.join(HERE, 'original_release.py'), '--release', args.original,
                 'sampler', '--clips', str(clips), *_comparison_args(args)], args.threads,
                GLIBC_ENVIRONMENT if args.peers_tuned_allocator else None)
            pairs.append((ours, theirs))
        ours = pairs[-1][0]
        row = dict(clips=clips, vidrd=ours)
        line = (f'{clips} clip(s): vidrd{" " + args.amp if args.amp else ""} '
                f'{ours["seconds_per_frame"]:.3f} s/frame, peak RSS '
                f'{ours["peak_rss_mib"]:.0f} MiB')
        if python is not None:
            theirs = row['original'] = pairs[-1][1]
            ratios = [o['seconds_per_frame'] / t['seconds_per_frame'] for o, t in pairs]
            row['ratios'] = [round(r, 3) for r in ratios]
            line += (f' | original {theirs["seconds_per_frame"]:.3f} s/frame, peak RSS '
                     f'{theirs["peak_rss_mib"]:.0f} MiB | time per frame vidrd / original '
                     f'{statistics.median(ratios):.2f}'
                     + (f' (median of {args.rounds} pairs: {row["ratios"]})' if args.rounds > 1
                        else '') + ' (target <= 0.5)')
        rows.append(row)
        print(line, flush=True)
    first, last = rows[0], rows[-1]
    for kind in ('vidrd', 'original'):
        if kind in first:
            print(f'{kind}: peak RSS at {last["clips"]} clips / at {first["clips"]} clip(s) = '
                  f'{last[kind]["peak_rss_mib"] / first[kind]["peak_rss_mib"]:.2f} '
                  '(flat: <= 1.1)', flush=True)
    return dict(settings=vars(args), against_original=rows)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.child_ours:
        print(json.dumps(ours_at_issue_size(args, args.child_ours)))
        return
    if args.original is not None:
        results = compare_with_original(args)
        if args.json:
            os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
            with open(args.json, 'w') as f:
                json.dump(results, f, indent=2)
        return
    if args.config:
        model = ConfigModel(args.config, args.checkpoint, args.device)
    else:
        model = FixtureModel(args.fixtures, args.device)
    height, width = args.resolution or model.resolution
    factor = model.vae.spatial_compression
    latent_shape = (model.vae.config['latent_channels'], height // factor, width // factor)
    configs = sorted(glob.glob(osp.join(args.ablations, '*.py')))
    strategies = {osp.splitext(osp.basename(p))[0]:
                  Config.fromfile(p).long_video_sampler.to_dict()['strategies'] for p in configs}
    print(f'model: {args.config or "fixture tiny U-Net"}; N={args.num_frames} '
          f'M={args.num_prompt_frames} S={args.steps} w={args.guidance_scale} '
          f'{height}x{width} px, latents {latent_shape}, {args.threads} thread(s)', flush=True)

    with torch.no_grad():
        results = dict(settings=vars(args),
                       speed_memory=speed_and_memory(args, model, latent_shape,
                                                     strategies['vidrd_full']),
                       boundary_smoothness={})
        for name, cfg in strategies.items():
            ratios = boundary_smoothness(args, model, latent_shape, cfg)
            results['boundary_smoothness'][name] = ratios
            print(f'boundary / within-clip frame difference, {name}: {ratios}', flush=True)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
