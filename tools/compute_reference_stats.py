"""Compute the real-data feature statistics of a video dataset config for FVD / frame FID.

    python tools/compute_reference_stats.py CONFIG [--out stats.npz] [--dataloader NAME]
        [--num-videos N] [--extractor '{"type": "I3D", "weights": "..."}'] [--device auto]
        [--cfg-options k=v ...]

Defaults: the extractor and output path of the first FVD / frame-FID metric in the config's
``test_evaluator``; the dataset of ``reference_dataloader`` (the protocol's real clips, e.g.
configs/_base_/evaluation/ucf101_zero_shot.py), else of ``train_dataloader``. Logic:
vidrd.evaluation.reference_stats.
"""
import argparse
import json

from mmengine.config import Config, DictAction

from vidrd.evaluation.reference_stats import compute_reference_stats
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.device import add_device_argument, resolve_device

#: the library's parameter names -> this tool's flags
FLAGS = {'out': '--out', 'video_key': '--video-key', 'num_videos': '--num-videos',
         'batch_size': '--batch-size'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file with the real video dataset')
    parser.add_argument('--out', help='.npz or .safetensors to write')
    parser.add_argument('--dataloader',
                        help='config entry whose dataset holds the real videos (default: '
                             'reference_dataloader if the config has one, else '
                             'train_dataloader)')
    parser.add_argument('--num-videos', type=int, help='videos to use, spread over the dataset')
    parser.add_argument('--extractor', type=json.loads, help='extractor config as JSON')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument('--video-key', help='item field holding the video (default: inputs)')
    parser.add_argument('--video-range', type=float, nargs=2, default=(-1, 1),
                        help='value range of float videos (default: -1 1)')
    add_device_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    device = resolve_device(args.device)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    compute_reference_stats(cfg, out=args.out, extractor=args.extractor,
                            dataloader=args.dataloader, num_videos=args.num_videos,
                            batch_size=args.batch_size, num_workers=args.num_workers,
                            video_key=args.video_key, video_range=tuple(args.video_range),
                            device=device)


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main, flags=FLAGS)
