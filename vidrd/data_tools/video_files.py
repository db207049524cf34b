"""The videos of a folder and their ids (the path relative to the folder, without extension).

How many frames a range of a video holds is :meth:`LoadVideoFrames.count_frames
<vidrd.datasets.transforms.LoadVideoFrames.count_frames>`.
"""
import os
import os.path as osp
from collections import Counter
from typing import List, Tuple

from vidrd.datasets.action_recognition_dataset import VIDEO_EXTENSIONS
from vidrd.datasets.annotations import require_dir
from vidrd.utils.errors import DataError


def video_id_of(relative_path: str) -> str:
    """The id of a video: its path relative to the folder, without extension.

    Args:
        relative_path (str): e.g. ``'abseiling/x_000010_000020.mp4'``.

    Returns:
        str: e.g. ``'abseiling/x_000010_000020'`` (always ``'/'`` separated).
    """
    return osp.splitext(relative_path)[0].replace(os.sep, '/')


def list_videos(video_dir: str) -> List[Tuple[str, str]]:
    """Every video (``VIDEO_EXTENSIONS``) under ``video_dir``, searched recursively.

    Args:
        video_dir (str): the folder.

    Returns:
        List[Tuple[str, str]]: ``(video_id, path)``, sorted by id.

    Raises:
        FileNotFoundError: ``video_dir`` is not a folder.
        ValueError: two files share an id (same name, different extension).
    """
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
