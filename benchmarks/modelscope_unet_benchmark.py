"""The ModelScope T2V U-Net: vidrd's port against diffusers' UNet3DConditionModel, same weights.

Both are built from one diffusers config (ModelScope T2V's layout at the given widths), our port
loads diffusers' weights by name, and each measurement runs in a fresh subprocess: time of the
forward (no grad) and of forward+backward, peak resident memory above the memory held after
building (ru_maxrss), and the largest difference of the outputs.

    python benchmarks/modelscope_unet_benchmark.py [--channels 64 128 256 256] [--frames 8] \
        [--size 32] [--device cpu]
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import torch


def build(kind: str, channels, device: str):
    from diffusers import UNet3DConditionModel
    torch.manual_seed(0)
    levels = len(channels)  # ModelScope's block types: the last level without attention
    reference = UNet3DConditionModel(
        block_out_channels=channels, attention_head_dim=64, cross_attention_dim=1024,
        norm_num_groups=32,
        down_block_types=('CrossAttnDownBlock3D',) * (levels - 1) + ('DownBlock3D',),
        up_block_types=('UpBlock3D',) + ('CrossAttnUpBlock3D',) * (levels - 1))
    if kind == 'diffusers':
        return reference.to(device)
    from vidrd.models.unets import UNet3DConditionModel as Ours
    from vidrd.models.unets.modelscope import modelscope_unet_config, rename_state_dict
    ours = Ours(**modelscope_unet_config(dict(reference.config)))
    ours.load_state_dict(rename_state_dict(reference.state_dict()))
    return ours.to(device)


def measure(kind: str, mode: str, channels, frames: int, size: int, repeats: int,
            device: str) -> dict:
    model = build(kind, channels, device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, frames, size, size, generator=g).to(device)
    t, text = torch.tensor([500], device=device), torch.randn(1, 77, 1024, generator=g).to(device)

    def call():
        out = model(x, t, text)
        return out if kind == 'vidrd' else out.sample

    model.train(mode != 'forward')
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for k in range(repeats + 1):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        if mode == 'forward':
            with torch.no_grad():
                out = call()
        else:
            model.zero_grad(set_to_none=True)
            call().square().mean().backward()
        if device == 'cuda':
            torch.cuda.synchronize()
        if k:  # the first call warms up
            times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() / 2 ** 20 if device == 'cuda' else
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
    result = dict(seconds=min(times), peak_mib=peak)
    if mode == 'forward':
        result['output_sum'] = float(out.double().sum())
        result['output_absmax'] = float(out.abs().max())
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--channels', type=int, nargs='+', default=[64, 128, 256, 256])
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--child', nargs=2)
    args = parser.parse_args()
    shape = (tuple(args.channels), args.frames, args.size, args.repeats, args.device)
    if args.child:
        print(json.dumps(measure(*args.child, *shape)))
        return
    print(f'ModelScope U-Net, channels {args.channels}, {args.frames} frames, '
          f'{args.size}x{args.size} latents, batch 1, head size 64, {args.device}, '
          f'{torch.get_num_threads()} threads')
    for mode in ('forward', 'forward+backward'):
        rows = {}
        for kind in ('vidrd', 'diffusers'):
            cmd = [sys.executable, __file__, '--child', kind, mode, '--channels',
                   *map(str, args.channels), '--frames', str(args.frames), '--size',
                   str(args.size), '--repeats', str(args.repeats), '--device', args.device]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows[kind] = json.loads(out.strip().splitlines()[-1])
        ours, theirs = rows['vidrd'], rows['diffusers']
        line = (f'{mode:17s} vidrd {ours["seconds"]:.3f} s {ours["peak_mib"]:.0f} MiB | '
                f'diffusers {theirs["seconds"]:.3f} s {theirs["peak_mib"]:.0f} MiB | ratio time '
                f'{ours["seconds"] / theirs["seconds"]:.2f}')
        if mode == 'forward':
            line += (f' | output sums {ours["output_sum"]:.6g} vs {theirs["output_sum"]:.6g}'
                     f' (|out| max {theirs["output_absmax"]:.3g})')
        print(line)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
