"""Do long videos of a trained moving-shapes model continue across clips? The paper's ablation.

    python benchmarks/long_video_continuity.py CONFIG CHECKPOINT \\
        [--samplers configs/ablations/tiny_shapes] [--seeds 0 1 2] [--clips 3] \\
        [--sweep M=1,2,4 beta=0.2,0.4,1 alpha=0,1,4 drop=0,1]

Generates one long video per held-out prompt (colour x shape x direction combinations never
trained) and seed with every sampler config of ``--samplers`` (full Reuse and Diffuse, without
FNR / PNS / DSG, independent clips) and prints ``LongVideoContinuity``: the boundary jump ratio
(1 = as smooth as within a clip), direction / colour accuracy of every clip, repeated and
reversed clips. ``--sweep`` instead varies M, beta (DSG), alpha (PNS) and whether the prompt
frames are dropped from the output, around the full sampler's other settings: how the settings
were chosen. One JSON line per row.
"""
import argparse
import copy
import itertools
import json
import os.path as osp
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from vidrd.apis import load_generation_model  # noqa: E402
from vidrd.apis.long_video_ablation import (continuity_scores, long_video_samples,  # noqa: E402
                                            load_sampler_configs)
from vidrd.datasets import MovingShapesDataset  # noqa: E402

SWEEP_KEYS = dict(M='num_prompt_frames', beta='beta', alpha='alpha', drop='drop_prompt_frames')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--samplers', default=osp.join(REPO, 'configs', 'ablations', 'tiny_shapes'),
                        help='folder of sampler configs (the ablation rows)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--clips', type=int, default=3)
    parser.add_argument('--prompts', nargs='+', help='default: the held-out prompts')
    parser.add_argument('--sweep', nargs='+', metavar='KEY=V1,V2',
                        help=f'vary the full sampler: keys {sorted(SWEEP_KEYS)}')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--trust-pickle', action='store_true',
                        help='load a checkpoint that is a full pickle (your own runs only)')
    return parser.parse_args()


def with_settings(sampler: dict, M=None, beta=None, alpha=None, drop=None) -> dict:
    """A copy of ``sampler`` with M, DSG's beta, PNS's alpha or ``drop_prompt_frames`` set."""
    sampler = copy.deepcopy(sampler)
    if M is not None:
        sampler['num_prompt_frames'] = int(M)
    if drop is not None:
        sampler['drop_prompt_frames'] = bool(int(drop))
    for strategy in sampler['strategies']:
        if beta is not None and strategy['type'] == 'StagedGuidanceDenoising':
            strategy['beta'] = float(beta)
        if alpha is not None and strategy['type'] == 'PastDependentNoiseSampling':
            strategy['alpha'] = float(alpha)
    return sampler


def rows(args, samplers):
    if not args.sweep:
        yield from ((name, {}, cfg) for name, cfg in samplers.items())
        return
    grid = {}
    for item in args.sweep:
        key, _, values = item.partition('=')
        if key not in SWEEP_KEYS or not values:
            raise SystemExit(f'--sweep {item!r}: use KEY=V1,V2 with KEY in {sorted(SWEEP_KEYS)}')
        grid[key] = values.split(',')
    for values in itertools.product(*grid.values()):
        settings = dict(zip(grid, values))
        yield 'vidrd_full', settings, with_settings(samplers['vidrd_full'], **settings)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    model = load_generation_model(args.config, args.checkpoint, trust_pickle=args.trust_pickle)
    prompts = args.prompts or MovingShapesDataset(num_samples=1).heldout_prompts()
    samplers = load_sampler_configs(args.samplers)
    for name, settings, cfg in rows(args, samplers):
        start = time.time()
        samples = [s for seed in args.seeds
                   for s in long_video_samples(model, prompts, cfg, args.clips, seed)]
        scores = continuity_scores(samples)
        print(json.dumps(dict(sampler=name, **settings, seconds=round(time.time() - start, 1),
                              **{k: round(v, 3) if isinstance(v, float) else v
                                 for k, v in scores.items()})), flush=True)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
