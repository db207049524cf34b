"""Cut long videos into shots (PySceneDetect) and write the segments file that
``ActionRecognitionDataset`` reads:

    python tools/data/segment_videos.py VIDEO_DIR --out segments.csv \
        [--min-duration S] [--max-duration S] [--detector content|adaptive] [--threshold T] \
        [--workers N]

Re-running skips the videos already done; unreadable videos are reported and skipped.
"""
import argparse

from vidrd.data_tools.segmenting import segment_videos
from vidrd.data_tools.shot_detection import DETECTORS, ShotDetection
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('video_dir', help='folder of videos (searched recursively)')
    parser.add_argument('--out', required=True, help='segments CSV (video_id,start,end,segment_id)')
    parser.add_argument('--min-duration', type=float, default=0.0,
                        help='drop shots shorter than this many seconds')
    parser.add_argument('--max-duration', type=float, default=None,
                        help='split longer shots into equal pieces at most this long (seconds)')
    parser.add_argument('--detector', choices=DETECTORS, default='content',
                        help="PySceneDetect's ContentDetector or AdaptiveDetector")
    parser.add_argument('--threshold', type=float, default=None,
                        help='ContentDetector threshold (default 27) or AdaptiveDetector '
                             'adaptive_threshold (default 3)')
    parser.add_argument('--min-scene-len', type=int, default=15,
                        help='frames after a cut before another one may be detected')
    parser.add_argument('--workers', type=int, default=0, help='decoding processes')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    detection = ShotDetection(args.detector, args.threshold, args.min_scene_len)
    report = segment_videos(args.video_dir, args.out, detection, args.min_duration,
                            args.max_duration, args.workers)
    print(report.summary())


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)
