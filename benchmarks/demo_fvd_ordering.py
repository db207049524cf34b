"""FVD / IS of real held-out clips, the trained demo model and an untrained one, with one
in-domain classifier: ``python benchmarks/demo_fvd_ordering.py work_dirs/demo`` (after the demo).
"""
import argparse
import os.path as osp

import torch

from vidrd.apis.run_config import build_runner, load_config
from vidrd.registry import DATASETS, METRICS

TINY = osp.join(osp.dirname(__file__), '..', 'configs', 'vidrd_tiny_shapes.py')


def score(samples, classifier):
    out = {}
    for cfg in (dict(type='FrechetVideoDistance'), dict(type='InceptionScore', num_splits=2)):
        metric = METRICS.build(dict(cfg, extractor=dict(type='ShapesClassifier', weights=classifier)))
        metric.process(None, samples)
        out.update(metric.compute_metrics(metric.results))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('demo_dir')
    args = parser.parse_args()
    classifier = osp.join(args.demo_dir, 'shapes_classifier.safetensors')
    checkpoint = osp.join(args.demo_dir, 'vidrd', 'iter_1200.pth')
    cfg = load_config(TINY, {'log_level': 'WARNING', 'custom_hooks': []},
                      work_dir=osp.join(args.demo_dir, 'fvd_ordering'))
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    other = DATASETS.build(dict(cfg.test_dataloader.dataset, seed=99))
    reals = [test_set[k] for k in range(len(test_set))]
    rows = {'real held-out (another draw)': [
        dict(video=other[k]['inputs'], gt_video=r['inputs']) for k, r in enumerate(reals)]}
    runner = build_runner(cfg)
    for name, ckpt in (('trained', checkpoint), ('untrained', None)):
        model = runner.model
        if ckpt:
            runner.load_checkpoint(ckpt)
        model.eval()
        samples = []
        for start in range(0, len(reals), 8):
            batch = reals[start:start + 8]
            data = model.data_preprocessor(dict(inputs=torch.stack([b['inputs'] for b in batch]),
                                                data_samples=[b['data_samples'] for b in batch]))
            for s in model(**data, mode='predict'):
                samples.append(dict(video=s.video, gt_video=s.gt_video))
        rows[name] = samples
        runner = build_runner(cfg)  # a fresh, untrained model for the next row
    for name, samples in rows.items():
        print(f'{name:30s} {score(samples, classifier)}')


if __name__ == '__main__':
    main()
