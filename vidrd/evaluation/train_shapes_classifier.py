"""Train the demo's feature network on the generated MovingShapes data (no downloads).

    python -m vidrd.evaluation.train_shapes_classifier --out work_dirs/evaluation/shapes_classifier.safetensors

Trains on all colour x shape x direction combinations (the held-out ones included: the
evaluator must recognise what the generator is asked for), reports the accuracy on fresh clips.
"""
import argparse
from typing import Optional, Sequence

import torch


def main(argv: Optional[Sequence[str]] = None):
    from vidrd.datasets import MovingShapesDataset
    from vidrd.evaluation.feature_extractors.shapes_classifier import train_shapes_classifier
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='.safetensors file to write')
    parser.add_argument('--iterations', type=int, default=300)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    common = dict(num_frames=args.num_frames, size=args.size, split='all')
    train = MovingShapesDataset(num_samples=4096, seed=args.seed + 100, **common)
    val = MovingShapesDataset(num_samples=512, seed=args.seed + 200, **common)
    return train_shapes_classifier(train, args.out, val_dataset=val, iterations=args.iterations,
                                   batch_size=args.batch_size, seed=args.seed)


if __name__ == '__main__':
    main()
