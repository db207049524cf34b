"""Cut long videos into shots with PySceneDetect and write the segments file that
``ActionRecognitionDataset`` reads (``SEGMENTS_FORMAT``: ``video_id,start,end,segment_id``, in
seconds).

Shots come from PySceneDetect's ``ContentDetector`` (hard cuts, HSV frame difference) or
``AdaptiveDetector`` (the same score relative to its neighbours, steadier under camera motion),
decoded with its PyAV backend. A shot longer than ``max_duration`` is split into equal pieces no
longer than it; a shot (or piece) shorter than ``min_duration`` is dropped. Boundaries lie on
frames: a segment ``[start, end)`` holds the frames ``start * fps .. end * fps - 1``, exactly what
``LoadVideoFrames`` decodes for it.

Resumable: every finished video is recorded in ``OUT.progress.jsonl`` after its rows are on disk;
a re-run skips the videos recorded there (or, with no progress file, the videos already named in
``OUT``) and drops rows of a video whose record is missing (the one being written at a kill).
Unreadable videos are logged, recorded with their reason and retried by the next run.
"""
import csv
import io
import json
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tqdm import tqdm

from vidrd.datasets.annotations import read_table
from vidrd.utils.logging import get_logger
from .appendable_files import (append_lines, drop_partial_last_line, read_jsonl_records,
                               write_text_atomic)
from .video_files import list_videos

SEGMENT_FIELDS = ('video_id', 'start', 'end', 'segment_id')
DETECTORS = ('content', 'adaptive')


@dataclass
class ShotDetection:
    """Which PySceneDetect detector and its settings.

    Args:
        detector: ``'content'`` (``ContentDetector``) or ``'adaptive'`` (``AdaptiveDetector``).
        threshold: ``ContentDetector``'s threshold (default 27) or ``AdaptiveDetector``'s
            ``adaptive_threshold`` (default 3); ``None`` keeps PySceneDetect's default.
        min_scene_len: frames that must pass after a cut before the next one (PySceneDetect's
            ``min_scene_len``).
    """
    detector: str = 'content'
    threshold: Optional[float] = None
    min_scene_len: int = 15

    def __post_init__(self):
        if self.detector not in DETECTORS:
            raise ValueError(f'unknown shot detector {self.detector!r}: use one of {DETECTORS}')
        if self.min_scene_len < 1:
            raise ValueError(f'min_scene_len must be >= 1 frame, got {self.min_scene_len}')

    def build(self):
        from scenedetect import AdaptiveDetector, ContentDetector
        if self.detector == 'content':
            kwargs = {} if self.threshold is None else dict(threshold=self.threshold)
            return ContentDetector(min_scene_len=self.min_scene_len, **kwargs)
        kwargs = {} if self.threshold is None else dict(adaptive_threshold=self.threshold)
        return AdaptiveDetector(min_scene_len=self.min_scene_len, **kwargs)


def detect_shots(path: str, detection: ShotDetection) -> Tuple[List[Tuple[int, int]], float]:
    """Shots of ``path`` as ``[(first_frame, end_frame), ...]`` (end exclusive) and the fps.

    Raises ``OSError`` naming the file when it cannot be opened or has no decodable frame.
    """
    from scenedetect import SceneManager, VideoOpenFailure, open_video
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    if osp.getsize(path) == 0:
        raise OSError(f'cannot read {path}: empty file (0 bytes)')
    try:
        video = open_video(path, backend='pyav')
    except (VideoOpenFailure, ValueError, OSError) as error:
        raise OSError(f'cannot open {path}: {type(error).__name__}: {error}') from error
    manager = SceneManager()
    manager.add_detector(detection.build())
    num_frames = manager.detect_scenes(video=video)
    if num_frames == 0:
        raise OSError(f'cannot read {path}: no frame could be decoded')
    scenes = manager.get_scene_list(start_in_scene=True)
    return [(start.frame_num, end.frame_num) for start, end in scenes], float(video.frame_rate)


def split_shot(first: int, end: int, fps: float, min_duration: float,
               max_duration: Optional[float]) -> List[Tuple[int, int]]:
    """Frame ranges of one shot ``[first, end)``: dropped when shorter than ``min_duration``
    seconds, else cut into the fewest pieces of equal length (whole frames) that are at most
    ``max_duration`` each; pieces shorter than ``min_duration`` (possible only when
    ``min_duration > max_duration / 2``) are dropped too."""
    length = end - first
    if length <= 0 or length / fps < min_duration - 1e-9:
        return []
    pieces = 1
    if max_duration:
        limit = max(1, int(math.floor(max_duration * fps + 1e-6)))  # whole frames per piece
        pieces = -(-length // limit)
    # integer bounds: every piece has floor or ceil of length / pieces <= limit frames
    bounds = [first + k * length // pieces for k in range(pieces + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])
            if (b - a) / fps >= min_duration - 1e-9]


def _seconds(frame: int, fps: float) -> str:
    return f'{frame / fps:.6f}'.rstrip('0').rstrip('.') or '0'


@dataclass
class VideoSegments:
    """What segmenting one video gave: its rows, or the reason it failed."""
    video_id: str
    rows: List[dict] = field(default_factory=list)
    num_shots: int = 0
    error: Optional[str] = None


def segment_video(video_id: str, path: str, detection: ShotDetection, min_duration: float = 0.0,
                  max_duration: Optional[float] = None) -> VideoSegments:
    """Rows ``video_id,start,end,segment_id`` of one video; an unreadable video gives ``error``
    instead of raising (so one broken file never stops a run)."""
    try:
        shots, fps = detect_shots(path, detection)
    except Exception as error:  # noqa: BLE001  any decoder failure: report and go on
        return VideoSegments(video_id, error=f'{type(error).__name__}: {error}')
    rows = []
    for first, end in shots:
        for a, b in split_shot(first, end, fps, min_duration, max_duration):
            rows.append(dict(video_id=video_id, start=_seconds(a, fps), end=_seconds(b, fps),
                             segment_id=f'{video_id}_{len(rows):03d}'))
    return VideoSegments(video_id, rows, num_shots=len(shots))


def _segment_job(args) -> VideoSegments:
    return segment_video(*args)


@dataclass
class SegmentingReport:
    """Totals of a run of :func:`segment_videos`."""
    num_videos: int = 0
    skipped_done: int = 0
    segmented: int = 0
    num_segments: int = 0
    without_segments: List[str] = field(default_factory=list)
    unreadable: Dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f'{self.num_videos} videos: {self.skipped_done} already done, '
                 f'{self.segmented} segmented into {self.num_segments} segments, '
                 f'{len(self.without_segments)} without a shot long enough, '
                 f'{len(self.unreadable)} unreadable']
        lines += [f'  unreadable {video_id}: {reason}'
                  for video_id, reason in list(self.unreadable.items())[:20]]
        if len(self.unreadable) > 20:
            lines.append(f'  ... and {len(self.unreadable) - 20} more (see the progress file)')
        return '\n'.join(lines)


def progress_path(out: str) -> str:
    """The progress record of a segments file."""
    return out + '.progress.jsonl'


def _rows_to_csv(rows: Iterable[dict], header: bool) -> List[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SEGMENT_FIELDS, lineterminator='\n')
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().splitlines()


def _resume(out: str) -> set:
    """Video ids already done; drops rows of a video the last run did not finish."""
    log = progress_path(out)
    drop_partial_last_line(log)
    drop_partial_last_line(out)
    rows = read_table(out, 'segments file') if osp.isfile(out) and osp.getsize(out) else []
    if not osp.isfile(log):
        return {str(row['video_id']) for row in rows}  # a file from elsewhere: trust it
    done = {r['video_id'] for r in read_jsonl_records(log) if r.get('status') != 'unreadable'}
    kept = [row for row in rows if str(row['video_id']) in done]
    if len(kept) != len(rows):
        get_logger().warning(f'{out}: dropping {len(rows) - len(kept)} rows of a video the last '
                             'run did not finish; it is segmented again')
        write_text_atomic(out, '\n'.join(_rows_to_csv(kept, header=True)) + '\n')
    return done


def segment_videos(video_dir: str, out: str, detection: Optional[ShotDetection] = None,
                   min_duration: float = 0.0, max_duration: Optional[float] = None,
                   workers: int = 0, progress: bool = True,
                   videos: Optional[Sequence[Tuple[str, str]]] = None) -> SegmentingReport:
    """Segment every video under ``video_dir`` into ``out`` (CSV, ``SEGMENT_FIELDS``).

    Args:
        video_dir: folder of videos (searched recursively); a video's id is its path relative
            to it, without extension.
        out: the segments CSV; appended to, resumable (see the module docstring).
        detection: the PySceneDetect detector and its settings.
        min_duration, max_duration: seconds; shorter shots are dropped, longer ones split.
        workers: processes decoding videos in parallel (0: in this process).
        videos: ``(video_id, path)`` pairs to use instead of listing ``video_dir``.
    """
    detection = detection or ShotDetection()
    if min_duration < 0:
        raise ValueError(f'min_duration must be >= 0 seconds, got {min_duration}')
    if max_duration is not None and max_duration <= 0:
        raise ValueError(f'max_duration must be positive seconds, got {max_duration}')
    if max_duration is not None and min_duration > max_duration:
        raise ValueError(f'min_duration {min_duration} s exceeds max_duration {max_duration} s')
    videos = list(videos) if videos is not None else list_videos(video_dir)
    report = SegmentingReport(num_videos=len(videos))
    done = _resume(out)
    todo = [(video_id, path) for video_id, path in videos if video_id not in done]
    report.skipped_done = len(videos) - len(todo)
    jobs = [(video_id, path, detection, min_duration, max_duration) for video_id, path in todo]
    header = not (osp.isfile(out) and osp.getsize(out))
    if workers > 0 and len(jobs) > 1:
        import multiprocessing
        pool = multiprocessing.get_context('spawn').Pool(workers)
        results = pool.imap(_segment_job, jobs)  # in order: the output does not depend on N
    else:
        pool, results = None, map(_segment_job, jobs)
    logger = get_logger()
    try:
        for result in tqdm(results, total=len(jobs), desc='segmenting', unit='video',
                           disable=not progress):
            if result.error:
                report.unreadable[result.video_id] = result.error
                logger.warning(f'skipping unreadable video {result.video_id}: {result.error}')
                status = dict(video_id=result.video_id, status='unreadable', reason=result.error)
            else:
                append_lines(out, _rows_to_csv(result.rows, header))
                header = False
                report.segmented += 1
                report.num_segments += len(result.rows)
                if not result.rows:
                    report.without_segments.append(result.video_id)
                status = dict(video_id=result.video_id, status='done', shots=result.num_shots,
                              segments=len(result.rows))
            append_lines(progress_path(out), [json.dumps(status)])
    finally:
        if pool is not None:
            pool.terminate()
    if header:  # nothing written at all: still leave a valid, empty table
        append_lines(out, _rows_to_csv([], header=True))
    return report
