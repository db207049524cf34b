"""Write a grid video (GIF / MP4) of a config's samples after the pipeline, with captions:

    python tools/analysis/browse_dataset.py CONFIG --num 16 --out DIR \
        [--split train] [--shuffle] [--formats gif mp4] [--cell-size 128]
"""
import argparse

from vidrd.apis.run_config import DictAction, load_config
from vidrd.data_tools.browsing import browse_dataset
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.errors import ConfigError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--num', type=int, default=16, help='samples to show')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--shuffle', action='store_true', help='random samples (seeded)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--formats', nargs='+', default=['gif', 'mp4'], choices=['gif', 'mp4'])
    parser.add_argument('--fps', type=float, default=4)
    parser.add_argument('--cell-size', type=int, default=128, help='pixels per clip')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise ConfigError(f'{args.config} has no {args.split}_dataloader.dataset')
    for path in browse_dataset(loader['dataset'], args.out, args.num, args.formats, args.fps,
                               args.cell_size, args.shuffle, args.seed):
        print(f'written: {path}')


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)
