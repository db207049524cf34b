"""FVD / IS of real clips, the trained demo model and an untrained one, with the demo's
in-domain classifier, on prompts of every colour x shape x direction combination:
``python benchmarks/demo_fvd_ordering.py work_dirs/demo`` (after the demo; the demo report
holds the same table).
"""
import argparse
import json
import os.path as osp

from vidrd.apis.metric_ordering import shapes_metric_ordering
from vidrd.apis.run_config import build_runner, load_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('demo_dir')
    parser.add_argument('--samples-per-combination', type=int, default=2)
    args = parser.parse_args()
    train_dir = osp.join(args.demo_dir, 'vidrd')
    config = osp.join(train_dir, 'vidrd_tiny_shapes.py')
    cfg = load_config(config, {'log_level': 'WARNING'}, work_dir=osp.join(args.demo_dir,
                                                                          'fvd_ordering'))
    runner = build_runner(cfg)
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        runner.load_checkpoint(f.read().strip())
    table = shapes_metric_ordering(cfg, runner.model,
                                   osp.join(args.demo_dir, 'shapes_classifier.safetensors'),
                                   args.samples_per_combination)
    print(json.dumps(table, indent=2))


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
