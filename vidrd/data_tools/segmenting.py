"""Cut long videos into shots with PySceneDetect and write the segments file that
``ActionRecognitionDataset`` reads (``SEGMENTS_FORMAT``: ``video_id,start,end,segment_id``, in
seconds).

Shots come from PySceneDetect (:mod:`.shot_detection`, which also cuts them to length).
Boundaries lie on frames: a segment ``[start, end)`` holds the frames ``start * fps .. end * fps
- 1``, exactly what ``LoadVideoFrames`` decodes for it.

Resumable: every finished video is recorded in ``OUT.progress.jsonl`` after its rows are on disk;
a re-run skips the videos recorded there (or, with no progress file, the videos already named in
``OUT``) and drops rows of a video whose record is missing (the one being written at a kill).
Unreadable videos are logged, recorded with their reason and retried by the next run.
"""
import csv
import io
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tqdm import tqdm

from vidrd.datasets.annotations import read_table
from vidrd.utils.logging import get_logger
from .appendable_files import (append_lines, drop_partial_last_line, read_jsonl_records,
                               write_text_atomic)
from .shot_detection import ShotDetection, segment_video, segment_video_job
from .video_files import list_videos
from vidrd.utils.errors import InvalidValueError

#: the columns of a segments file, in the order written (``SEGMENTS_FORMAT``); every writer
#: of one (this module, :mod:`.converters.kinetics`) uses them
SEGMENT_FIELDS = ('video_id', 'start', 'end', 'segment_id')


@dataclass
class SegmentingReport:
    """Totals of a run of :func:`segment_videos`.

    Attributes:
        num_videos (int): videos listed.
        skipped_done (int): videos segmented by an earlier run.
        segmented (int): videos segmented by this run.
        num_segments (int): segments written by this run.
        without_segments (List[str]): ids of videos without a shot long enough.
        unreadable (Dict[str, str]): video id -> why it could not be read.
    """
    num_videos: int = 0
    skipped_done: int = 0
    segmented: int = 0
    num_segments: int = 0
    without_segments: List[str] = field(default_factory=list)
    unreadable: Dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """The totals in a line, then up to 20 unreadable videos, one a line."""
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
    """The progress record of a segments file.

    Args:
        out (str): the segments file.

    Returns:
        str: ``out + '.progress.jsonl'``.
    """
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
        video_dir (str): folder of videos (searched recursively); a video's id is its path
            relative to it, without extension.
        out (str): the segments CSV; appended to, resumable (see the module docstring).
        detection (ShotDetection, optional): the PySceneDetect detector and its settings.
            Defaults to None (``ShotDetection()``).
        min_duration (float): seconds; shorter shots are dropped. Defaults to 0.0.
        max_duration (float, optional): seconds; longer shots are split. Defaults to None.
        workers (int): processes decoding videos in parallel (0: in this process).
            Defaults to 0.
        progress (bool): show a progress bar. Defaults to True.
        videos (Sequence[Tuple[str, str]], optional): ``(video_id, path)`` pairs to use
            instead of listing ``video_dir``. Defaults to None.

    Returns:
        SegmentingReport: the run's totals.

    Raises:
        InvalidValueError: durations out of range.
    """
    detection = detection or ShotDetection()
    if min_duration < 0:
        raise InvalidValueError(f'min_duration must be >= 0 seconds, got {min_duration}')
    if max_duration is not None and max_duration <= 0:
        raise InvalidValueError(f'max_duration must be positive seconds, got {max_duration}')
    if max_duration is not None and min_duration > max_duration:
        raise InvalidValueError(
            f'min_duration {min_duration} s exceeds max_duration {max_duration} s')
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
        # in order: the output does not depend on N
        results = pool.imap(segment_video_job, jobs)
    else:
        pool, results = None, (segment_video(*job) for job in jobs)
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
