"""Our video U-Net against the original release and diffusers' UNet3DConditionModel.

Same widths, depth and heads for all (defaults: the size of issue 14: widths 64 128 256 256,
heads of 64, cross-attention width 1024, a classifier-free-guidance batch of 2, 8 frames of
32 x 32 latents). Every measurement runs in a fresh subprocess (never two at once):

- forward (no grad): ours, ours with ``compile=True`` (``--compile``), the original release
  (in its own virtual environment, ``--original``), diffusers; median of ``--repeats`` after a
  warm-up; peak RSS of the process (VmHWM) and its growth over the built model and inputs;
  page faults and system time per call, ours also with glibc's default allocator
  (``VIDRD_TUNE_ALLOCATOR=0``);
- forward+backward: ours and diffusers;
- the matmul limit: FLOPs of our forward (``torch.utils.flop_counter``) / the measured fp32
  GEMM rate of this CPU;
- ``--profile``: copy / clone / contiguous calls on activations in our forward (profiler
  counts, meaningful on a loaded machine), channels-last on and off;
- bf16 autocast: speed-up over fp32 and relative error;
- ``--rounds N``: N alternated pairs (ours / the original's forward, ours / diffusers'
  forward+backward) and the median of their ratios, the figure to quote on a shared machine.

    python benchmarks/unet_benchmark.py --original /work/orig_vidrd/src \\
        [--original-python /work/orig_vidrd/venv/bin/python] [--compile] [--profile]

Without ``--original`` (or where the folder is missing) the original release is reported as
not measured, with the reason. Run it on a quiet machine: timings of a loaded one are noise.
"""
import argparse
import json
import math
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time

import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(HERE))

from original_release import peak_rss_mib  # noqa: E402 (a sibling script, runs in any venv)
from vidrd.utils.cpu_allocator import GLIBC_ENVIRONMENT  # noqa: E402


def build(kind: str, channels, head_dim: int, cross_dim: int):
    heads = tuple(max(1, c // head_dim) for c in channels)
    levels = len(channels)
    down = ('CrossAttnDownBlock2D',) * (levels - 1) + ('DownBlock2D',)
    up = ('UpBlock2D',) + ('CrossAttnUpBlock2D',) * (levels - 1)
    if kind.startswith('ours'):
        from vidrd.models.unets import UNet3DConditionModel
        return UNet3DConditionModel(block_out_channels=channels, num_attention_heads=heads,
                                    cross_attention_dim=cross_dim, down_block_types=down,
                                    up_block_types=up, compile=kind == 'ours-compiled')
    from diffusers import UNet3DConditionModel
    # diffusers' 3D U-Net reads attention_head_dim as the size of a head
    return UNet3DConditionModel(block_out_channels=channels, attention_head_dim=head_dim,
                                cross_attention_dim=cross_dim, norm_num_groups=32,
                                down_block_types=tuple(b.replace('2D', '3D') for b in down),
                                up_block_types=tuple(b.replace('2D', '3D') for b in up))


def forward(kind, model, x, t, text):
    if kind.startswith('ours'):
        return model(x, t, text)
    return model(x, t, encoder_hidden_states=text).sample


def inputs(args):
    x = torch.randn(args.batch, 4, args.frames, args.size, args.size)
    return x, torch.tensor([500] * args.batch), torch.randn(args.batch, 77, args.cross_dim)


def measure(args, kind: str, mode: str, dtype: str = 'fp32') -> dict:
    torch.manual_seed(0)
    model = build(kind, tuple(args.channels), args.head_dim, args.cross_dim)
    x, t, text = inputs(args)
    if mode == 'forward':
        model.eval()
    base = peak_rss_mib()
    times = []
    for k in range(args.repeats + 1):
        if k == 1:
            usage = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        if mode == 'forward':
            with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=dtype == 'bf16'):
                out = forward(kind, model, x, t, text)
        else:
            model.zero_grad(set_to_none=True)
            forward(kind, model, x, t, text).square().mean().backward()
        if k:  # the first call warms up (and compiles)
            times.append(time.perf_counter() - start)
    end = resource.getrusage(resource.RUSAGE_SELF)
    times.sort()
    result = dict(kind=kind, mode=mode, dtype=dtype, seconds=times[len(times) // 2],
                  peak_rss_mib=peak_rss_mib(), peak_growth_mib=peak_rss_mib() - base,
                  # the allocator's share: pages faulted in (and zeroed) per call, system time
                  page_faults=(end.ru_minflt - usage.ru_minflt) / args.repeats,
                  system_seconds=(end.ru_stime - usage.ru_stime) / args.repeats)
    if kind == 'ours-compiled':
        result['compile_failure'] = model._compiled.failure
    if mode == 'forward' and kind == 'ours' and dtype == 'bf16':
        with torch.no_grad():
            ref = forward(kind, model, x, t, text)
        result['rel_error_vs_fp32'] = float((out.float() - ref).norm() / ref.norm())
    return result


def matmul_limit(args) -> dict:
    """FLOPs of our forward and the seconds they take at this CPU's fp32 GEMM rate."""
    from torch.utils.flop_counter import FlopCounterMode
    torch.manual_seed(0)
    model = build('ours', tuple(args.channels), args.head_dim, args.cross_dim).eval()
    x, t, text = inputs(args)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x, t, text)
    flops = counter.get_total_flops()
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    rate = 2 * 2048 ** 3 / best
    return dict(kind='matmul-limit', gflop=flops / 1e9, gemm_gflops=rate / 1e9,
                seconds=flops / rate)


def copy_profile(args) -> dict:
    """Copies of activations (not 0-dim scalars, not conv weight reorders) in our forward."""
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(0)
    model = build('ours', tuple(args.channels), args.head_dim, args.cross_dim).eval()
    x, t, text = inputs(args)
    weights = set()
    for p in model.parameters():
        weights |= {tuple(p.shape), tuple(p.squeeze(-1).shape)}
    result = dict(kind='copies')
    for channels_last in (True, False):
        model.channels_last = channels_last
        with torch.no_grad():
            model(x, t, text)
            with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
                model(x, t, text)
        calls, mib = 0, 0.0
        for e in prof.events():
            shape = tuple(e.input_shapes[0]) if e.input_shapes else ()
            if e.name == 'aten::copy_' and shape and shape not in weights:
                calls += 1
                mib += math.prod(shape) * 4 / 2 ** 20
        result['channels_last' if channels_last else 'contiguous'] = dict(
            copy_calls=calls, copied_mib=round(mib, 1))
    return result


def run_child(args, kind, mode, dtype='fp32', extra_env=None):
    cmd = [sys.executable, __file__, '--child', kind, mode, dtype, *common_args(args)]
    return _run(cmd, peer_env(args) if kind == 'diffusers' else extra_env)


def peer_env(args):
    """A peer's environment: vidrd's allocator settings with ``--peers-tuned-allocator``."""
    return GLIBC_ENVIRONMENT if args.peers_tuned_allocator else None


def common_args(args):
    return ['--channels', *map(str, args.channels), '--frames', str(args.frames),
            '--size', str(args.size), '--batch', str(args.batch), '--head-dim',
            str(args.head_dim), '--cross-dim', str(args.cross_dim), '--repeats',
            str(args.repeats), '--threads', str(args.threads)]


def _run(cmd, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(cmd[cmd.index('--threads') + 1]),
               **(extra_env or {}))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def original_python(args):
    """(python, None) of the original release's environment, or (None, why it is missing)."""
    if not args.original:
        return None, 'no --original folder given'
    if not osp.isfile(osp.join(args.original, 'model', 'modules', 'unet.py')):
        return None, (f'{args.original} is not the original release (no model/modules/unet.py);'
                      ' see benchmarks/README.md for how to get it')
    python = args.original_python or osp.join(osp.dirname(osp.abspath(args.original)), 'venv',
                                               'bin', 'python')
    if not osp.isfile(python):
        return None, (f'no Python of the original release\'s environment at {python} '
                      '(--original-python); see benchmarks/README.md')
    return python, None


def run_original(args, python, what: str, extra=()):
    cmd = [python, osp.join(HERE, 'original_release.py'), '--release', args.original, what,
           *common_args(args), *extra]
    return _run(cmd, peer_env(args))


def alternated_ratios(args, python):
    """Ratios of ``--rounds`` alternated pairs of fresh processes, and their medians."""
    pairs = []
    if python is None:
        print('alternated rounds against the original release: NOT MEASURED', flush=True)
    else:
        pairs.append(('forward', 'original release', lambda: run_original(args, python, 'unet')))
    pairs.append(('forward+backward', 'diffusers',
                  lambda: run_child(args, 'diffusers', 'forward+backward')))
    for mode, peer, run_peer in pairs:
        ratios = []
        for _ in range(args.rounds):
            ratios.append(run_child(args, 'ours', mode)['seconds'] / run_peer()['seconds'])
        print(f'{mode} ours / {peer}, {args.rounds} alternated rounds: '
              f'{", ".join(f"{r:.2f}" for r in ratios)}; median {statistics.median(ratios):.2f} '
              '(target <= 0.5)', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--channels', type=int, nargs='+', default=[64, 128, 256, 256])
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--batch', type=int, default=2, help='2: a guided (cfg) batch of 1')
    parser.add_argument('--head-dim', type=int, default=64)
    parser.add_argument('--cross-dim', type=int, default=1024)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--original', help='folder of the original release (its source tree)')
    parser.add_argument('--original-python',
                        help='Python of its environment (default: ORIGINAL/../venv/bin/python)')
    parser.add_argument('--compile', action='store_true', help='also time compile=True')
    parser.add_argument('--profile', action='store_true', help='also count copies')
    parser.add_argument('--no-bf16', action='store_true')
    parser.add_argument('--rounds', type=int, default=1,
                        help='also alternate ours with the original release (forward) and with '
                        'diffusers (forward+backward) this many times, fresh processes each, and '
                        'print the median ratio: on a shared VM one pair is noise')
    parser.add_argument('--peers-tuned-allocator', action='store_true',
                        help='run the original release and diffusers with the C allocator '
                        'settings vidrd applies to itself (vidrd/utils/cpu_allocator.py), to '
                        'separate that gain from the code\'s')
    parser.add_argument('--child', nargs=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        kind, mode, dtype = args.child
        if kind == 'matmul-limit':
            result = matmul_limit(args)
        elif kind == 'copies':
            result = copy_profile(args)
        else:
            result = measure(args, kind, mode, dtype)
        print(json.dumps(result))
        return
    print(f'channels {args.channels}, {args.frames} frames, {args.size}x{args.size} latents, '
          f'batch {args.batch}, head size {args.head_dim}, cross-attention width '
          f'{args.cross_dim}, {args.threads} threads, torch {torch.__version__}; peers\' '
          f'allocator: {"tuned as vidrd" if args.peers_tuned_allocator else "default"}',
          flush=True)
    limit = run_child(args, 'matmul-limit', '-')
    print(f'our forward: {limit["gflop"]:.1f} GFLOP; fp32 GEMM {limit["gemm_gflops"]:.0f} '
          f'GFLOP/s -> matmul limit {limit["seconds"]:.3f} s', flush=True)

    def row(r):
        return f'{r["seconds"]:.3f} s, peak RSS {r["peak_rss_mib"]:.0f} MiB'

    ours = run_child(args, 'ours', 'forward')
    print(f'forward  ours {row(ours)} ({ours["seconds"] / limit["seconds"]:.2f}x the matmul '
          'limit)', flush=True)
    untuned = run_child(args, 'ours', 'forward', extra_env=dict(VIDRD_TUNE_ALLOCATOR='0'))
    print(f'forward  ours: page faults / system time per call {ours["page_faults"]:.0f} / '
          f'{ours["system_seconds"]:.3f} s; with glibc\'s default allocator '
          f'(VIDRD_TUNE_ALLOCATOR=0) {untuned["page_faults"]:.0f} / '
          f'{untuned["system_seconds"]:.3f} s, {row(untuned)}', flush=True)
    if args.compile:
        comp = run_child(args, 'ours-compiled', 'forward')
        note = f' (compile FAILED, eager: {comp["compile_failure"]})' if comp[
            'compile_failure'] else ''
        print(f'forward  ours compile=True {row(comp)}{note}; '
              f'{comp["seconds"] / ours["seconds"]:.2f}x eager', flush=True)
    python, why = original_python(args)
    if python is None:
        print(f'forward  original release: NOT MEASURED ({why})', flush=True)
    else:
        orig = run_original(args, python, 'unet')
        print(f'forward  original release {row(orig)} (torch {orig["torch"]}) | ours / original '
              f'= {ours["seconds"] / orig["seconds"]:.2f} (target <= 0.5)', flush=True)
    theirs = run_child(args, 'diffusers', 'forward')
    print(f'forward  diffusers {row(theirs)} | ours / diffusers time '
          f'{ours["seconds"] / theirs["seconds"]:.2f}', flush=True)
    ours_b = run_child(args, 'ours', 'forward+backward')
    theirs_b = run_child(args, 'diffusers', 'forward+backward')
    print(f'forward+backward  ours {row(ours_b)} growth {ours_b["peak_growth_mib"]:.0f} MiB | '
          f'diffusers {row(theirs_b)} growth {theirs_b["peak_growth_mib"]:.0f} MiB | ratio time '
          f'{ours_b["seconds"] / theirs_b["seconds"]:.2f} (target <= 0.5), memory growth '
          f'{ours_b["peak_growth_mib"] / max(theirs_b["peak_growth_mib"], 1e-9):.2f}', flush=True)
    if args.rounds > 1:
        alternated_ratios(args, python)
    if args.profile:
        copies = run_child(args, 'copies', '-')
        print(f'activation copies in our forward: channels-last {copies["channels_last"]}, '
              f'contiguous {copies["contiguous"]}', flush=True)
    if not args.no_bf16:
        bf16 = run_child(args, 'ours', 'forward', 'bf16')
        print(f'bf16 autocast forward: {bf16["seconds"]:.3f} s, speed-up over fp32 '
              f'{ours["seconds"] / bf16["seconds"]:.2f}x, relative error '
              f'{bf16["rel_error_vs_fp32"]:.2e}')


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
