"""Draw training curves (loss, lr, grad norm) of a work dir to a PNG, as mmengine-based repos'
``analyze_logs`` does: ``python tools/analysis/plot_curves.py WORK_DIR [--keys loss lr]
[--out curves.png]``. Reads mmengine's json scalar logs; logic: vidrd.apis.training_curves."""
import argparse

from vidrd.apis.training_curves import plot_curves
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator


def main():
    parser = argparse.ArgumentParser(description='Plot training curves of a work dir')
    parser.add_argument('work_dir', help='e.g. work_dirs/vidrd_tiny_shapes')
    parser.add_argument('--keys', nargs='+', help='scalars to plot (default: losses, lr, '
                                                  'grad_norm)')
    parser.add_argument('--out', help='PNG to write (default: WORK_DIR/curves.png)')
    args = parser.parse_args()
    print(f'wrote {plot_curves(args.work_dir, args.keys, args.out)}')


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)
