"""Test a model: ``python tools/test.py CONFIG [CHECKPOINT] [--work-dir DIR]``: generate videos
for the test set and print the metrics of ``test_evaluator`` (FVD, IS, ...). Without a checkpoint
the config's pretrained weights are tested as they are (e.g. ModelScope T2V zero-shot)."""
import argparse

from vidrd.apis.run_config import DictAction, build_runner, check_paths, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test a vidrd model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint of the trained model (default: none, the pretrained '
                             'weights the config names)')
    parser.add_argument('--work-dir', help='folder for logs, metrics and sample videos')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.num_clips=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, launcher=args.launcher)
    cfg.load_from = args.checkpoint
    check_paths(cfg, sections=('model', 'test_dataloader', 'test_evaluator'))
    metrics = build_runner(cfg).test()
    width = max([len(k) for k in metrics] + [6])
    print(f'\n{"metric":{width}s}  value')
    for key, value in metrics.items():
        print(f'{key:{width}s}  {value:.4f}' if isinstance(value, float) else
              f'{key:{width}s}  {value}')


if __name__ == '__main__':
    main()
