"""Shots of one video with PySceneDetect, split and filtered by duration.

Kept free of torch and vidrd's datasets, so the worker processes of
:func:`vidrd.data_tools.segmenting.segment_videos` start fast.

Shots come from PySceneDetect's ``ContentDetector`` (hard cuts, HSV frame difference) or
``AdaptiveDetector`` (the same score relative to its neighbours, steadier under camera motion),
decoded with its PyAV backend. Boundaries lie on frames: a segment ``[start, end)`` holds the
frames ``start * fps .. end * fps - 1``, exactly what ``LoadVideoFrames`` decodes for it.
"""
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Tuple
from vidrd.utils.errors import InvalidValueError

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
            raise InvalidValueError(
                f'unknown shot detector {self.detector!r}: use one of {DETECTORS}')
        if self.min_scene_len < 1:
            raise InvalidValueError(f'min_scene_len must be >= 1 frame, got {self.min_scene_len}')

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


def segment_video_job(args) -> VideoSegments:
    """:func:`segment_video` of one ``(video_id, path, detection, min_duration, max_duration)``
    (what the worker processes run)."""
    return segment_video(*args)
