"""Evaluation throughput: videos per second of each feature extractor on this machine's CPU.

    python benchmarks/eval_throughput.py [--threads 2] [--batch 4] [--repeats 3]

Random weights (the speed does not depend on their values). Inputs are what the UCF-101
protocol feeds: 16 frames at 256x256 (I3D resizes to 224, C3D to 112, InceptionV3 to 299 per
frame, CLIP ViT-B/32 to 224 per frame); the demo's ShapesClassifier sees 8 frames at 32x32.
Preprocessing is included in the time. Prints a table (and JSON with --json).
"""
import argparse
import json
import time

import torch


def extractors():
    from vidrd.evaluation.feature_extractors import (C3DFeatureExtractor, CLIPExtractor,
                                                     I3DFeatureExtractor,
                                                     InceptionV3FrameExtractor, ShapesClassifier)
    random = dict(weights=None, allow_random_weights=True)
    ucf = (16, 256, 256)
    return [
        ('I3D (FVD)', lambda: I3DFeatureExtractor(**random), 'extract_features', ucf),
        ('C3D (IS)', lambda: C3DFeatureExtractor(**random), 'class_probabilities', ucf),
        ('InceptionV3 (frame FID)', lambda: InceptionV3FrameExtractor(**random),
         'extract_features', ucf),
        ('CLIP ViT-B/32 (CLIPSIM)', lambda: CLIPExtractor(random_config={}, **random),
         'encode_video', ucf),
        ('ShapesClassifier (demo)', lambda: ShapesClassifier(**random), 'extract_features',
         (8, 32, 32)),
    ]


def measure(build, method, shape, batch, repeats):
    extractor = build()
    frames, height, width = shape
    videos = torch.rand(batch, 3, frames, height, width)
    run = getattr(extractor, method)
    with torch.no_grad():
        run(videos[:1])  # warm-up (allocations, lazy init)
        start = time.perf_counter()
        for _ in range(repeats):
            run(videos)
        seconds = (time.perf_counter() - start) / repeats
    return dict(seconds_per_batch=seconds, videos_per_second=batch / seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--only', nargs='*', help='substrings of extractor names to run')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    print(f'CPU, {args.threads} thread(s), batch {args.batch}, mean of {args.repeats} batches')
    print(f'{"extractor":28s} {"input (F, H, W)":>16s} {"s / batch":>10s} {"videos / s":>11s}')
    for name, build, method, shape in extractors():
        if args.only and not any(s.lower() in name.lower() for s in args.only):
            continue
        result = measure(build, method, shape, args.batch, args.repeats)
        rows.append(dict(extractor=name, input=list(shape), batch=args.batch, **result))
        print(f'{name:28s} {str(shape):>16s} {result["seconds_per_batch"]:10.2f} '
              f'{result["videos_per_second"]:11.2f}', flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(threads=args.threads, rows=rows), f, indent=2)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()
