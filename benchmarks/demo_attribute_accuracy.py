"""Train the tiny config (with overrides) and measure colour / shape / direction accuracy of
generated clips, separately for training and held-out combinations: the experiment behind the
tiny config's data and timestep choices.

    python benchmarks/demo_attribute_accuracy.py NAME [--samples 2] [--guidance 1.5 3] \
        [--heldout-test 64] [--cfg-options model.vae.factor=4 ...] \
        [--checkpoint work_dirs/.../iter_1200.pth]

Prints one JSON line per guidance scale. A model that reads a caption word scores well above
chance on training combinations; held-out combinations test composition.
"""
import argparse
import itertools
import json
import os.path as osp
import time

import torch
from mmengine.config import DictAction

from vidrd.apis.run_config import build_runner, load_config
from vidrd.datasets.moving_shapes_attributes import measure_attributes

TINY = osp.join(osp.dirname(__file__), '..', 'configs', 'vidrd_tiny_shapes.py')
ATTRIBUTES = ('color', 'shape', 'direction')


def attribute_accuracy(model, dataset, samples: int, guidance: float, batch: int = 16) -> dict:
    """Accuracy per attribute, ``{'train': {...}, 'heldout': {...}}``, over ``samples`` clips
    of every combination of ``dataset`` (a ``MovingShapesDataset``)."""
    heldout = set(dataset.heldout_combinations)
    combos = [c for c in itertools.product(dataset.palette, dataset.shapes, dataset.directions)
              for _ in range(samples)]
    hits = {split: {a: [] for a in ATTRIBUTES} for split in ('train', 'heldout')}
    for start in range(0, len(combos), batch):
        chunk = combos[start:start + batch]
        videos = model.generate([dataset.caption_of(*c) for c in chunk], seed=1000 + start,
                                guidance_scale=guidance)
        for combo, video in zip(chunk, videos):
            measured = measure_attributes(video)
            split = 'heldout' if combo in heldout else 'train'
            for name, value in zip(ATTRIBUTES, combo):
                hits[split][name].append(measured[name] == value)
    return {split: {a: round(sum(v) / len(v), 3) for a, v in d.items()}
            for split, d in hits.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('name', help='work_dirs/attribute_accuracy/NAME')
    parser.add_argument('--config', default=TINY)
    parser.add_argument('--samples', type=int, default=2, help='clips per combination')
    parser.add_argument('--guidance', type=float, nargs='+', default=None,
                        help="guidance scales to score (default: the config's)")
    parser.add_argument('--checkpoint', help='score this checkpoint instead of training')
    parser.add_argument('--heldout-test', type=int, metavar='N',
                        help="also score N clips of the config's held-out test split with its "
                             "sampler, as the demo's test stage does (runner.test())")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args()
    cfg = load_config(args.config, args.cfg_options,
                      work_dir=osp.join('work_dirs', 'attribute_accuracy', args.name))
    cfg.custom_hooks = [dict(type='IterationSeedHook')]
    if args.heldout_test:
        cfg.test_dataloader.dataset.num_samples = args.heldout_test
        cfg.test_evaluator = [dict(type='ShapesAttributeAccuracy')]
    start = time.time()
    runner = build_runner(cfg)
    if args.checkpoint:
        runner.load_checkpoint(args.checkpoint, map_location='cpu')
        train_s = None
    else:
        runner.train()
        train_s = round(time.time() - start, 1)
    if args.heldout_test:
        metrics = runner.test()
        print(json.dumps(dict(name=args.name, heldout_test=args.heldout_test, train_s=train_s,
                              options=str(args.cfg_options),
                              **{k: round(v, 4) for k, v in metrics.items()})), flush=True)
    model = runner.model.eval()
    dataset = runner.train_dataloader.dataset
    with torch.no_grad():
        for guidance in args.guidance or [model.sampler.guidance_scale]:
            result = attribute_accuracy(model, dataset, args.samples, guidance)
            print(json.dumps(dict(name=args.name, guidance=guidance, train_s=train_s,
                                  options=str(args.cfg_options), **result)), flush=True)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
