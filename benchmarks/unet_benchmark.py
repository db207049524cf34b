"""Our video U-Net against diffusers' UNet3DConditionModel at the same widths, depth and heads.

Each measurement runs in a fresh subprocess: time of forward (no grad) and forward+backward,
and peak resident memory of the step above the memory held after building the model and
inputs (ru_maxrss). Then ours under bf16 autocast: speed-up over fp32 and relative error.

    python benchmarks/unet_benchmark.py [--channels 64 128 256 256] [--frames 8] [--size 32]
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def build(kind: str, channels, head_dim: int, cross_dim: int):
    heads = tuple(max(1, c // head_dim) for c in channels)
    if kind == 'ours':
        from vidrd.models.unets import UNet3DConditionModel
        return UNet3DConditionModel(block_out_channels=channels, num_attention_heads=heads,
                                    cross_attention_dim=cross_dim)
    from diffusers import UNet3DConditionModel
    # diffusers' 3D U-Net reads attention_head_dim as the size of a head
    return UNet3DConditionModel(block_out_channels=channels, attention_head_dim=head_dim,
                                cross_attention_dim=cross_dim, norm_num_groups=32)


def forward(kind, model, x, t, text):
    if kind == 'ours':
        return model(x, t, text)
    return model(x, t, encoder_hidden_states=text).sample


def measure(kind: str, mode: str, channels, frames: int, size: int, repeats: int,
            threads: int, dtype: str = 'fp32') -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(kind, channels, 64, 1024)
    x = torch.randn(1, 4, frames, size, size)
    t, text = torch.tensor([500]), torch.randn(1, 77, 1024)
    if mode == 'forward':
        model.eval()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        if mode == 'forward':
            with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=dtype == 'bf16'):
                out = forward(kind, model, x, t, text)
        else:
            model.zero_grad(set_to_none=True)
            forward(kind, model, x, t, text).square().mean().backward()
        if k:  # the first call warms up
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    result = dict(kind=kind, mode=mode, dtype=dtype, seconds=min(times), peak_mib=peak / 1024)
    if mode == 'forward' and kind == 'ours':
        with torch.no_grad():
            ref = forward(kind, model, x, t, text) if dtype == 'bf16' else out
        result['rel_error_vs_fp32'] = float((out.float() - ref).norm() / ref.norm())
    return result


def run_child(args, kind, mode, dtype='fp32'):
    cmd = [sys.executable, __file__, '--child', kind, mode, dtype, '--channels',
           *map(str, args.channels), '--frames', str(args.frames), '--size', str(args.size),
           '--repeats', str(args.repeats), '--threads', str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--channels', type=int, nargs='+', default=[64, 128, 256, 256])
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--child', nargs=3)
    args = parser.parse_args()
    if args.child:
        kind, mode, dtype = args.child
        print(json.dumps(measure(kind, mode, tuple(args.channels), args.frames, args.size,
                                 args.repeats, args.threads, dtype)))
        return
    print(f'channels {args.channels}, {args.frames} frames, {args.size}x{args.size} latents, '
          f'batch 1, head size 64, {args.threads} threads')
    rows = {}
    for mode in ('forward', 'forward+backward'):
        ours, theirs = run_child(args, 'ours', mode), run_child(args, 'diffusers', mode)
        rows[mode] = (ours, theirs)
        print(f'{mode:17s} ours {ours["seconds"]:.3f} s {ours["peak_mib"]:.0f} MiB | diffusers '
              f'{theirs["seconds"]:.3f} s {theirs["peak_mib"]:.0f} MiB | ratio time '
              f'{ours["seconds"] / theirs["seconds"]:.2f} memory '
              f'{ours["peak_mib"] / max(theirs["peak_mib"], 1e-9):.2f}')
    bf16 = run_child(args, 'ours', 'forward', 'bf16')
    fp32 = rows['forward'][0]
    print(f'bf16 autocast forward: {bf16["seconds"]:.3f} s, speed-up over fp32 '
          f'{fp32["seconds"] / bf16["seconds"]:.2f}x, relative error {bf16["rel_error_vs_fp32"]:.2e}')


if __name__ == '__main__':
    main()
