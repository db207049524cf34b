"""Decode a clip of a video file with PyAV."""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from vidrd.registry import TRANSFORMS
from ..video_io import VideoInfo, probe_video, read_video
from vidrd.utils.errors import InvalidValueError


@dataclass
class RangeFrames:
    """Frames picked out of a range of a video by :meth:`LoadVideoFrames.read_range`.

    Attributes:
        frames (np.ndarray): uint8 (K, H, W, 3) RGB, the picked frames in the order picked.
        indices (np.ndarray): int64 (K,), their indices among the range's frames.
        num_available (int): frames in the range (by the header, else decoded and counted).
        source_fps (float): the video's frame rate (25 where the header does not say).
    """
    frames: np.ndarray
    indices: np.ndarray
    num_available: int
    source_fps: float


@TRANSFORMS.register_module()
class LoadVideoFrames:
    """Sample ``num_frames`` frames of ``results['video_path']`` and decode them.

    The clip lies inside ``[results['start'], results['end']]`` seconds when the annotation gives
    them (segments of a long video), else in the whole video. Frames are ``frame_interval``
    source frames apart, or, with ``target_fps``, spaced to play at that rate (e.g. 8 fps out of
    a 25 fps video: every 3.125th frame, rounded).

    The frame counting and index choice are public, so tools count a range exactly as the
    transform does: :meth:`count_frames`, :meth:`header_frame_count`, :meth:`frame_step`,
    :meth:`frames_needed`, :meth:`sample_indices` and :meth:`read_range`.

    Args:
        num_frames (int): frames per clip (F). Defaults to 16.
        frame_interval (int): stride in source frames (ignored when ``target_fps`` is set).
            Defaults to 1.
        target_fps (float, optional): frames per second of the sampled clip; ``None`` keeps
            ``frame_interval``. Defaults to None.
        clip_start (str): where the clip starts: ``'random'`` (training), ``'center'``
            (testing) or ``'begin'``. Defaults to ``'random'``.
        short_video (str): what to do when the range holds fewer frames than the clip spans:
            ``'stretch'`` spreads the F frames evenly over what there is (motion plays faster),
            ``'repeat_last'`` keeps the stride and repeats the last frame,
            ``'loop'`` keeps the stride and wraps around to the start. Defaults to
            ``'stretch'``.

    Raises:
        InvalidValueError: an argument out of its range.

    Adds: ``frames`` uint8 (F, H, W, 3) RGB, ``frame_inds`` (indices in the range), ``fps`` (of
    the sampled clip), ``source_fps``, ``ori_shape`` and ``img_shape`` (H, W).
    """

    def __init__(self,
                 num_frames: int = 16,
                 frame_interval: int = 1,
                 target_fps: Optional[float] = None,
                 clip_start: str = 'random',
                 short_video: str = 'stretch'):
        if num_frames < 1:
            raise InvalidValueError(f'num_frames must be >= 1, got {num_frames}')
        if frame_interval < 1:
            raise InvalidValueError(f'frame_interval must be >= 1, got {frame_interval}')
        if target_fps is not None and target_fps <= 0:
            raise InvalidValueError(f'target_fps must be positive, got {target_fps}')
        if clip_start not in ('random', 'center', 'begin'):
            raise InvalidValueError("clip_start must be 'random', 'center' or 'begin', "
                                    f'got {clip_start!r}')
        if short_video not in ('stretch', 'repeat_last', 'loop'):
            raise InvalidValueError("short_video must be 'stretch', 'repeat_last' or 'loop', "
                                    f'got {short_video!r}')
        self.num_frames = num_frames
        self.frame_interval = frame_interval
        self.target_fps = target_fps
        self.clip_start = clip_start
        self.short_video = short_video

    def frame_step(self, source_fps: float) -> float:
        """Distance in source frames between two frames of a clip.

        Args:
            source_fps (float): the video's frame rate.

        Returns:
            float: ``source_fps / target_fps`` when ``target_fps`` is set (and the rate is
            known), else ``frame_interval``.
        """
        if self.target_fps is not None and source_fps > 0:
            return max(source_fps / self.target_fps, 1e-6)
        return float(self.frame_interval)

    def frames_needed(self, source_fps: float) -> int:
        """Source frames one clip spans, first to last, at its stride.

        A range with fewer frames is short: the clip stretches, repeats or loops
        (``short_video``).

        Args:
            source_fps (float): the video's frame rate.

        Returns:
            int: ``floor((num_frames - 1) * step) + 1``.
        """
        return int(np.floor((self.num_frames - 1) * self.frame_step(source_fps) + 1e-6)) + 1

    @staticmethod
    def header_frame_count(info: VideoInfo, start: Optional[float] = None,
                           end: Optional[float] = None) -> int:
        """Frames of ``[start, end)`` seconds by the video's header, as the transform counts them.

        A range shorter than one frame counts as 1 (decoding it gives the frame at ``start``);
        the count never exceeds the header's frame count.

        Args:
            info (VideoInfo): the header (:func:`~vidrd.datasets.video_io.probe_video`).
            start (float, optional): seconds; ``None`` is the video's start. Defaults to None.
            end (float, optional): seconds; ``None`` is the video's end. Defaults to None.

        Returns:
            int: the count, or 0 when the header gives no frame count (decode to count).
        """
        if info.num_frames <= 0:
            return 0
        fps = info.fps or 25.0
        begin = start or 0.0
        stop = info.duration if end is None else min(end, info.duration or end)
        available = int(np.floor((stop - begin) * fps + 1e-6)) if stop else info.num_frames
        return min(max(available, 1), info.num_frames)

    @classmethod
    def count_frames(cls, path: str, start: Optional[float] = None,
                     end: Optional[float] = None, info: Optional[VideoInfo] = None) -> int:
        """Frames of ``[start, end)`` seconds of ``path`` as the transform sees them.

        The header's count (:meth:`header_frame_count`); where the header does not say, the
        range is decoded and its frames counted.

        Args:
            path (str): the video file.
            start (float, optional): seconds; ``None`` is the video's start. Defaults to None.
            end (float, optional): seconds; ``None`` is the video's end. Defaults to None.
            info (VideoInfo, optional): the header when already read; ``None`` reads it.
                Defaults to None.

        Returns:
            int: the number of frames.

        Raises:
            OSError: the file is missing or cannot be decoded
                (:class:`~vidrd.datasets.bad_samples.UnreadableSampleError`).
        """
        available = cls.header_frame_count(info or probe_video(path), start, end)
        if available == 0:  # the header does not say: count the decoded frames
            available = len(read_video(path, start, end)[0])
        return available

    @classmethod
    def read_range(cls, path: str, start: Optional[float], end: Optional[float],
                   choose: Callable[[int, float], np.ndarray]) -> RangeFrames:
        """Decode the frames ``choose`` picks out of ``[start, end)`` seconds of ``path``.

        With a frame count in the header only the chosen frames are decoded; without one the
        range is decoded, counted, and the chosen frames taken from it.

        Args:
            path (str): the video file.
            start (float, optional): seconds; ``None`` is the video's start.
            end (float, optional): seconds; ``None`` is the video's end.
            choose (Callable[[int, float], np.ndarray]): ``(frames in the range, source
                fps)`` -> int indices (K,) into those frames, e.g. :meth:`sample_indices`.

        Returns:
            RangeFrames: the frames, their indices, the range's frame count and frame rate.

        Raises:
            OSError: the file is missing or cannot be decoded
                (:class:`~vidrd.datasets.bad_samples.UnreadableSampleError`).
        """
        info = probe_video(path)
        source_fps = info.fps or 25.0
        available = cls.header_frame_count(info, start, end)
        if available > 0:
            indices = np.asarray(choose(available, source_fps))
            frames, _ = read_video(path, start=start, end=end, frame_indices=indices)
        else:  # the header does not say how many frames there are: decode, then pick
            frames, _ = read_video(path, start=start, end=end)
            available = len(frames)
            indices = np.asarray(choose(available, source_fps))
            frames = frames[indices]
        return RangeFrames(frames, indices, available, source_fps)

    def sample_indices(self, available: int, source_fps: float) -> np.ndarray:
        """Frame indices of one clip.

        Args:
            available (int): frames in the range.
            source_fps (float): the video's frame rate.

        Returns:
            np.ndarray: int64 (F,), indices into the ``available`` frames of the range.
        """
        step = self.frame_step(source_fps)
        span = (self.num_frames - 1) * step  # distance from the first to the last frame
        if available <= 0:
            return np.zeros(self.num_frames, dtype=np.int64)
        if span > available - 1:
            if self.short_video == 'stretch':
                return np.linspace(0, available - 1, self.num_frames).round().astype(np.int64)
            offsets = np.floor(np.arange(self.num_frames) * step + 1e-6).astype(np.int64)
            if self.short_video == 'loop':
                return offsets % available
            return np.minimum(offsets, available - 1)
        slack = available - 1 - span
        if self.clip_start == 'random':
            first = np.random.uniform(0, slack)
        elif self.clip_start == 'center':
            first = slack / 2
        else:
            first = 0.0
        return np.floor(first + np.arange(self.num_frames) * step + 1e-6).astype(np.int64)

    def __call__(self, results: dict) -> dict:
        """Decode the clip of ``results['video_path']``.

        Args:
            results (dict): ``video_path``, optionally ``start`` / ``end`` seconds.

        Returns:
            dict: ``results`` with ``frames``, ``frame_inds``, ``fps``, ``source_fps``,
            ``ori_shape`` and ``img_shape`` added.
        """
        path = results['video_path']
        picked = self.read_range(path, results.get('start'), results.get('end'),
                                 self.sample_indices)
        frames, indices, source_fps = picked.frames, picked.indices, picked.source_fps
        results['frames'] = frames
        results['frame_inds'] = indices
        results['source_fps'] = source_fps
        if len(indices) > 1 and indices[-1] > indices[0]:
            results['fps'] = source_fps * (len(indices) - 1) / float(indices[-1] - indices[0])
        else:
            results['fps'] = source_fps / self.frame_step(source_fps)
        results['ori_shape'] = frames.shape[1:3]
        results['img_shape'] = frames.shape[1:3]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'frame_interval={self.frame_interval}, target_fps={self.target_fps}, '
                f'clip_start={self.clip_start!r}, short_video={self.short_video!r})')
