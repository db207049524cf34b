"""Kinetics-400/600/700 CSV -> action-recognition annotation, segments file and class list:

    python tools/data/convert_kinetics.py kinetics400/train.csv --out-ann ann_train.csv \
        --out-segments segments_train.csv [--classes classes.txt] [--video-dir DIR] \
        [--split train] [--path-format '{label}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4'] \
        [--full-videos]
"""
import argparse

from vidrd.data_tools.converters.kinetics import DEFAULT_PATH_FORMAT, convert_kinetics
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('csv', help="the release's CSV: label,youtube_id,time_start,time_end,split")
    parser.add_argument('--out-ann', required=True, help='annotation CSV: path,label,video_id')
    parser.add_argument('--out-segments', required=True,
                        help='segments CSV: video_id,start,end,segment_id')
    parser.add_argument('--classes', help='class list to write (one name a line)')
    parser.add_argument('--video-dir', help='drop rows whose video is not in this folder')
    parser.add_argument('--split', help='keep this split only (train / validate / test)')
    parser.add_argument('--path-format', default=DEFAULT_PATH_FORMAT,
                        help='video path relative to the video folder, from the row')
    parser.add_argument('--full-videos', action='store_true',
                        help='files are whole YouTube videos: segment [time_start, time_end]')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = convert_kinetics(args.csv, args.out_ann, args.out_segments, args.path_format,
                              trimmed=not args.full_videos, split=args.split,
                              video_dir=args.video_dir, out_classes=args.classes)
    print(report.summary())


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)
