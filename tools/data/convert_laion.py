"""LAION-style image-text table (parquet / CSV) -> ImageTextDataset JSONL, filtered:

    python tools/data/convert_laion.py laion_part.parquet --image-dir images/ --out captions.jsonl \
        [--path-format '{key}.jpg'] [--min-size 256] [--max-aspect-ratio 2] [--min-score 5]
"""
import argparse

from vidrd.data_tools.converters.image_text_table import convert_image_table
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator

#: the library's parameter names -> this tool's flags
FLAGS = {'path_format': '--path-format', 'caption_column': '--caption-column',
         'min_score': '--min-score'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('table', help='parquet / CSV / JSONL with caption and path (or url, key)')
    parser.add_argument('--image-dir', required=True, help='folder of the downloaded images')
    parser.add_argument('--out', required=True, help='JSONL of {"path", "caption"}')
    parser.add_argument('--path-format', help="image path from the row, e.g. '{key}.jpg' "
                                              "or '{url_basename}' (default: the path column)")
    parser.add_argument('--caption-column', help='default: caption / TEXT')
    parser.add_argument('--min-size', type=int, default=0, help='shorter side in pixels')
    parser.add_argument('--max-aspect-ratio', type=float, help='max(w/h, h/w)')
    parser.add_argument('--min-score', type=float, help='minimum aesthetic score')
    parser.add_argument('--score-column', help='default: aesthetic / AESTHETIC_SCORE / score')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = convert_image_table(args.table, args.out, args.image_dir, args.path_format,
                                 args.caption_column, args.min_size, args.max_aspect_ratio,
                                 args.min_score, args.score_column)
    print(report.summary())


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main, flags=FLAGS)
