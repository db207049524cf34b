"""Train a model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp bf16]``."""
import argparse

from vidrd.apis.run_config import DictAction, build_runner, check_paths, load_config
from vidrd.utils.cli import run_cli
from vidrd.utils.precision import precision_names


def parse_args():
    parser = argparse.ArgumentParser(description='Train a vidrd model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint of the work dir '
                             'when no path is given')
    parser.add_argument('--amp', nargs='?', const='bf16', default=None, metavar='PRECISION',
                        help=f'mixed precision, one of {precision_names()} (bf16 without a '
                             'value; fp16 on a GPU only; fp32: none)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.caption_dropout=0.2')
    parser.add_argument('--strategy',
                        help='FlexibleRunner strategy: fsdp2, fsdp, deepspeed_zero2 '
                             '(configs/_base_/strategies) or a config file')
    parser.add_argument('--configs-dir', metavar='DIR',
                        help='the folder --strategy names are looked up in (default: the '
                             "repository's configs/, or the copy a wheel install carries)")
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.amp, args.resume,
                      args.launcher, strategy=args.strategy, configs_dir=args.configs_dir)
    check_paths(cfg, sections=('model', 'train_dataloader'))
    build_runner(cfg).train()


if __name__ == '__main__':
    run_cli(main)
