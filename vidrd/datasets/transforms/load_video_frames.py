"""Decode a clip of a video file with PyAV."""
from typing import Optional

import numpy as np

from vidrd.registry import TRANSFORMS
from ..video_io import probe_video, read_video
from vidrd.utils.errors import InvalidValueError


@TRANSFORMS.register_module()
class LoadVideoFrames:
    """Sample ``num_frames`` frames of ``results['video_path']`` and decode them.

    The clip lies inside ``[results['start'], results['end']]`` seconds when the annotation gives
    them (segments of a long video), else in the whole video. Frames are ``frame_interval``
    source frames apart, or, with ``target_fps``, spaced to play at that rate (e.g. 8 fps out of
    a 25 fps video: every 3.125th frame, rounded).

    Args:
        num_frames: frames per clip (F).
        frame_interval: stride in source frames (ignored when ``target_fps`` is set).
        target_fps: frames per second of the sampled clip; ``None`` keeps ``frame_interval``.
        clip_start: where the clip starts: ``'random'`` (training), ``'center'`` (testing) or
            ``'begin'``.
        short_video: what to do when the range holds fewer frames than the clip spans:
            ``'stretch'`` spreads the F frames evenly over what there is (motion plays faster),
            ``'repeat_last'`` keeps the stride and repeats the last frame,
            ``'loop'`` keeps the stride and wraps around to the start.

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

    def _step(self, source_fps: float) -> float:
        if self.target_fps is not None and source_fps > 0:
            return max(source_fps / self.target_fps, 1e-6)
        return float(self.frame_interval)

    def sample_indices(self, available: int, source_fps: float) -> np.ndarray:
        """Frame indices (into the ``available`` frames of the range) of one clip."""
        step = self._step(source_fps)
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
        path = results['video_path']
        start, end = results.get('start'), results.get('end')
        info = probe_video(path)
        source_fps = info.fps or 25.0
        if info.num_frames > 0:
            begin = start or 0.0
            stop = info.duration if end is None else min(end, info.duration or end)
            if stop:
                available = int(np.floor((stop - begin) * source_fps + 1e-6))
            else:
                available = info.num_frames
            available = min(max(available, 1), info.num_frames)
            indices = self.sample_indices(available, source_fps)
            frames, _ = read_video(path, start=start, end=end, frame_indices=indices)
        else:
            # The header does not say how many frames there are: decode the range, then sample.
            frames, _ = read_video(path, start=start, end=end)
            indices = self.sample_indices(len(frames), source_fps)
            frames = frames[indices]
        results['frames'] = frames
        results['frame_inds'] = indices
        results['source_fps'] = source_fps
        if len(indices) > 1 and indices[-1] > indices[0]:
            results['fps'] = source_fps * (len(indices) - 1) / float(indices[-1] - indices[0])
        else:
            results['fps'] = source_fps / self._step(source_fps)
        results['ori_shape'] = frames.shape[1:3]
        results['img_shape'] = frames.shape[1:3]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'frame_interval={self.frame_interval}, target_fps={self.target_fps}, '
                f'clip_start={self.clip_start!r}, short_video={self.short_video!r})')
