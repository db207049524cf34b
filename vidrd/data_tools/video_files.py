"""The videos of a folder, their ids (the path relative to the folder, without extension) and
how many frames a range of one holds."""
import math
import os
import os.path as osp
from collections import Counter
from typing import List, Optional, Tuple

from vidrd.datasets.action_recognition_dataset import VIDEO_EXTENSIONS
from vidrd.datasets.annotations import require_dir
from vidrd.datasets.video_io import VideoInfo
from vidrd.utils.errors import DataError


def video_id_of(relative_path: str) -> str:
    """'abseiling/x_000010_000020.mp4' -> 'abseiling/x_000010_000020' (always '/' separated)."""
    return osp.splitext(relative_path)[0].replace(os.sep, '/')


def list_videos(video_dir: str) -> List[Tuple[str, str]]:
    """Sorted ``(video_id, path)`` of every video (``VIDEO_EXTENSIONS``) under ``video_dir``."""
    require_dir(video_dir, 'video folder', f'video files ({", ".join(VIDEO_EXTENSIONS)}), in '
                'sub-folders or not')
    videos = []
    for folder, dirs, names in os.walk(video_dir):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(VIDEO_EXTENSIONS):
                path = osp.join(folder, name)
                videos.append((video_id_of(osp.relpath(path, video_dir)), path))
    videos.sort()
    twice = sorted(video_id for video_id, count in Counter(v for v, _ in videos).items()
                   if count > 1)
    if twice:
        raise DataError(f'{video_dir}: two files share a video id (same name, different '
                        f'extension), e.g. {twice[:3]}; keep one of each')
    return videos


def frames_in_range(info: VideoInfo, start: Optional[float], end: Optional[float]) -> int:
    """Frames of ``[start, end)`` seconds (``None``: the video's start / end) by the header, as
    ``LoadVideoFrames`` counts them; 0 where the header says too little."""
    fps = info.fps or 25.0
    begin = start or 0.0
    stop = info.duration if end is None else min(end, info.duration or end)
    available = int(math.floor((stop - begin) * fps + 1e-6)) if stop else info.num_frames
    if info.num_frames:
        available = min(available, info.num_frames)
    return max(available, 0)
