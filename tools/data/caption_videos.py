"""Caption videos or their segments with a local vision-language model (BLIP-2, LLaVA,
Qwen2-VL, ...):

    python tools/data/caption_videos.py VIDEO_DIR --model-dir DIR --out captions.jsonl \
        [--segments segments.csv] [--labels ann.csv] [--frames K] [--prompt TEMPLATE] \
        [--frame-layout grid|separate|video] [--batch-size B] [--device auto]

Writes JSONL ``{"id": ..., "caption": ...}`` (the caption file of ``ActionRecognitionDataset``),
appending as it goes; re-running continues where a killed run stopped. Several processes / GPUs:
``torchrun --nproc-per-node 4 tools/data/caption_videos.py ...`` (or ``--num-shards N
--shard-id K`` each); the last shard to finish merges the parts into ``--out``.
"""
import argparse

from vidrd.data_tools.captioning import (FRAME_LAYOUTS, VisionLanguageCaptioner,
                                         caption_items, caption_videos)
from vidrd.utils.cli import check_value, run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.device import add_device_argument, resolve_device

#: the library's parameter names -> this tool's flags
FLAGS = {'num_frames': '--frames', 'batch_size': '--batch-size', 'labels': '--labels',
         'frame_layout': '--frame-layout'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('video_dir', help='folder of videos (searched recursively)')
    parser.add_argument('--model-dir', required=True,
                        help='local transformers vision-language model folder')
    parser.add_argument('--out', required=True, help='caption JSONL (id,caption)')
    parser.add_argument('--segments', help='segments CSV of tools/data/segment_videos.py')
    parser.add_argument('--labels', help='annotation with path,label[,video_id]: {label}')
    parser.add_argument('--frames', type=int, default=4, help='key frames per clip')
    parser.add_argument('--frame-layout', choices=list(FRAME_LAYOUTS), default='grid',
                        help='grid: tile the key frames into one image (any model); separate: '
                             'give them to a chat-template model (LLaVA) as separate images; '
                             'video: give them as one video with their frame rate / timestamps '
                             '(processors that take videos=: Qwen2-VL / Qwen2.5-VL, '
                             'LLaVA-OneVision, SmolVLM)')
    parser.add_argument('--prompt', help='prompt template; {label} is the class name in words')
    parser.add_argument('--caption-template', default='{description}',
                        help="what is written, e.g. '{label}: {description}'")
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--max-new-tokens', type=int, default=40)
    add_device_argument(parser)
    parser.add_argument('--dtype', choices=['float16', 'bfloat16', 'float32'])
    parser.add_argument('--num-shards', type=int, help='default: $WORLD_SIZE or 1')
    parser.add_argument('--shard-id', type=int, help='default: $RANK or 0')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    check_value(args.frames >= 1 and args.batch_size >= 1,
                f'--frames and --batch-size must be >= 1, got {args.frames}, {args.batch_size}')
    device = resolve_device(args.device)  # auto: under torchrun, cuda:LOCAL_RANK
    items = caption_items(args.video_dir, args.segments, args.labels)
    captioner = VisionLanguageCaptioner(args.model_dir, device, args.dtype, args.max_new_tokens)
    report = caption_videos(items, captioner, args.out, args.frames, args.prompt,
                            args.caption_template, args.batch_size, args.num_shards,
                            args.shard_id, args.frame_layout)
    print(report.summary())


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main, flags=FLAGS)
