"""The embedded demo (README command 1): train, test and sample a tiny VidRD on the CPU."""
import argparse

from vidrd.apis.demo import app_command, run_demo
from vidrd.apis.run_config import DictAction, add_sampling_amp_argument
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator


def main():
    parser = argparse.ArgumentParser(description='Run the embedded vidrd demo')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override entries of configs/vidrd_tiny_shapes.py')
    parser.add_argument('--configs-dir', metavar='DIR',
                        help="the folder of vidrd's configs (default: the repository's configs/, "
                             'or the copy a wheel install carries)')
    add_sampling_amp_argument(parser, default='auto')
    args = parser.parse_args()
    report = run_demo(args.work_dir, args.cfg_options, configs_dir=args.configs_dir,
                      amp=args.amp)
    print(open(f'{args.work_dir}/report.md').read())
    print('Try the model in your browser (then open http://127.0.0.1:7860):\n\n'
          f'    . .venv/bin/activate && {app_command(args.work_dir, args.configs_dir)}\n')
    return report


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)
