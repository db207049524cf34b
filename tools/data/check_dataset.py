"""Decode every sample of a config's dataset through its pipeline; report bad ones:

    python tools/data/check_dataset.py CONFIG [--split train] [--workers N] \
        [--write-clean ann_clean.csv] [--max-aspect-ratio 3] [--max-upscale 2] \
        [--cfg-options k=v ...]

Missing, empty, unreadable, too short and odd-sized samples are listed with their reason, with
counts per dataset (nested mixes included). ``--write-clean`` writes the annotation without them
(a folder when the config mixes several annotated datasets).
"""
import argparse

from vidrd.apis.run_config import DictAction, load_config
from vidrd.data_tools.checking import check_dataset, report_text, write_clean_annotations
from vidrd.utils.cli import check_value, run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.errors import ConfigError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--workers', type=int, default=0, help='decoding processes')
    parser.add_argument('--write-clean', metavar='PATH',
                        help='write the annotation without the bad samples')
    parser.add_argument('--max-aspect-ratio', type=float, default=3.0,
                        help='sources more elongated than this are reported as odd-sized')
    parser.add_argument('--max-upscale', type=float, default=2.0,
                        help='sources upscaled more than this to the clip size are odd-sized')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_value(args.workers >= 0, f'--workers must be >= 0, got {args.workers}')
    check_value(args.max_aspect_ratio >= 1 and args.max_upscale >= 1,
                '--max-aspect-ratio and --max-upscale must be >= 1')
    cfg = load_config(args.config, args.cfg_options)
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise ConfigError(f'{args.config} has no {args.split}_dataloader.dataset')
    checks = check_dataset(loader['dataset'], args.workers, args.max_aspect_ratio,
                           args.max_upscale)
    print(report_text(checks))
    if args.write_clean:
        for path in write_clean_annotations(checks, args.write_clean):
            print(f'cleaned annotation written: {path}')
    return checks


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)
