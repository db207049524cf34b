"""Test a model: ``python tools/test.py CONFIG [CHECKPOINT] [--work-dir DIR] [--out metrics.json]``:
generate videos for the test set and print the metrics of ``test_evaluator`` (FVD, IS, ...).
Without a checkpoint the config's pretrained weights are tested as they are (e.g. ModelScope T2V
zero-shot). Several processes: ``bash tools/dist_test.sh CONFIG CHECKPOINT N``. The model runs
on the GPU when there is one (mmengine's Runner), else on the CPU."""
import argparse

from mmengine.dist import is_main_process

from vidrd.apis.metric_table import format_metric_table, write_metrics_json
from vidrd.apis.run_config import (DictAction, add_sampling_amp_argument, build_runner,
                                   check_paths, load_config, with_sampling_amp)
from vidrd.engine.runner import check_checkpoint_file
from vidrd.utils.cli import run_cli


def parse_args():
    parser = argparse.ArgumentParser(description='Test a vidrd model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint of the trained model (default: none, the pretrained '
                             'weights the config names)')
    parser.add_argument('--work-dir', help='folder for logs, metrics and sample videos')
    parser.add_argument('--out', help='also write the metric table to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.num_clips=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_sampling_amp_argument(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, with_sampling_amp(args.cfg_options, args.amp), args.work_dir,
                      launcher=args.launcher)
    cfg.load_from = args.checkpoint
    check_paths(cfg, sections=('model', 'test_dataloader', 'test_evaluator'))
    if args.checkpoint:
        check_checkpoint_file(args.checkpoint)  # before the evaluator's networks load
    metrics = build_runner(cfg).test()
    if not is_main_process():  # every rank holds the gathered metrics; rank 0 reports them
        return
    print('\n' + format_metric_table(metrics))
    if args.out:
        write_metrics_json(metrics, args.out, config=args.config, checkpoint=args.checkpoint)
        print(f'metrics written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
