"""Reading and writing videos with PyAV (frames are ``uint8`` arrays of shape (F, H, W, 3), RGB).

- :func:`probe_video` reads the stream header (fps, frame count, duration, size).
- :func:`read_video` decodes a file, optionally only ``[start, end]`` seconds and only some frames
  (it seeks to ``start`` and stops after the last frame asked for, so a long video is not decoded
  whole for a short clip).
- :func:`write_video` writes ``.mp4`` (libx264, else mpeg4) or ``.gif`` (Pillow); the generation
  tool and the visualisation hook use it.
- :func:`video_tensor_to_uint8` turns a model's (3, F, H, W) video in [-1, 1] into frames;
  :func:`hold_last_frame` lengthens a clip to its neighbours' length (grids, side by side).

A missing file raises ``FileNotFoundError``; a file that cannot be decoded raises
:class:`~vidrd.datasets.bad_samples.UnreadableSampleError`, both ``OSError`` and both naming the
path, which the datasets catch to skip and report the sample.
"""
import os
import os.path as osp
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence, Tuple, Union

import av
import numpy as np

from .bad_samples import UnreadableSampleError
from vidrd.utils.errors import InvalidValueError

__all__ = [
    'VideoInfo', 'probe_video', 'read_video', 'write_video', 'to_uint8_frames',
    'video_tensor_to_uint8', 'hold_last_frame'
]


@dataclass
class VideoInfo:
    """Header facts of a video's first video stream."""
    fps: float
    num_frames: int  # 0 where the container does not say
    duration: float  # seconds, 0.0 where unknown
    height: int
    width: int


def _check_exists(path: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')


def _open(path: str):
    _check_exists(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError) as error:
        raise UnreadableSampleError(path, f'{type(error).__name__}: {error}') from error
    if not container.streams.video:
        container.close()
        raise UnreadableSampleError(path, 'the file has no video stream')
    return container


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def probe_video(path: str) -> VideoInfo:
    """Read the header of ``path``'s first video stream (no decoding)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        num_frames = int(stream.frames or 0)
        if num_frames == 0 and duration > 0 and fps > 0:
            num_frames = int(round(duration * fps))
        return VideoInfo(fps=fps, num_frames=num_frames, duration=duration,
                         height=int(stream.codec_context.height),
                         width=int(stream.codec_context.width))
    finally:
        container.close()


def read_video(path: str,
               start: Optional[float] = None,
               end: Optional[float] = None,
               frame_indices: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, float]:
    """Decode frames of ``path``.

    Args:
        path: video file.
        start, end: seconds; only frames whose time lies in ``[start, end)`` are considered
            (``None``: from the beginning / to the end).
        frame_indices: indices counted from the first frame at or after ``start``; only these
            are returned, in the given order (repeats allowed). An index past the last decoded
            frame is clamped to the last frame (a header may promise more frames than exist).
            ``None`` returns every frame of the range.

    Returns:
        ``(frames, fps)``: ``frames`` uint8 of shape (F, H, W, 3), RGB; ``fps`` of the stream.
    """
    container = _open(path)
    wanted = None if frame_indices is None else np.asarray(frame_indices, dtype=np.int64)
    if wanted is not None and wanted.size and wanted.min() < 0:
        container.close()
        raise ValueError(f'negative frame index in {list(frame_indices)} for {path}')
    last_wanted = None if wanted is None or wanted.size == 0 else int(wanted.max())
    keep = None if wanted is None else set(wanted.tolist())
    frames = {}
    ordered = []
    last_frame, last_index = None, -1
    try:
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        # Half a frame of slack so that rounding of timestamps does not drop the first frame.
        half_frame = 0.5 / fps if fps > 0 else 0.0
        if start and start > 0 and stream.time_base is not None:
            # Seek to the key frame before ``start``, then decode forward to it.
            container.seek(int(start / stream.time_base), stream=stream, backward=True,
                           any_frame=False)
        index = 0
        for frame in container.decode(stream):
            time = frame.time
            if start is not None and time is not None and time < start - half_frame:
                continue
            if end is not None and time is not None and time >= end - half_frame and index > 0:
                break
            if keep is None:
                ordered.append(frame.to_ndarray(format='rgb24'))
            elif index in keep:
                frames[index] = frame.to_ndarray(format='rgb24')
            last_frame, last_index = frame, index
            index += 1
            if last_wanted is not None and index > last_wanted:
                break
    except av.error.FFmpegError as error:
        if last_frame is None:
            raise UnreadableSampleError(path, f'{type(error).__name__}: {error}') from error
        # A truncated file: keep the frames decoded before the damage.
    finally:
        container.close()

    if keep is None:
        if not ordered:
            raise UnreadableSampleError(path, _empty_reason(start, end))
        return np.stack(ordered), fps
    if wanted.size == 0:
        return np.zeros((0, 0, 0, 3), np.uint8), fps
    if last_frame is None:
        raise UnreadableSampleError(path, _empty_reason(start, end))
    if wanted.max() > last_index:
        frames[last_index] = last_frame.to_ndarray(format='rgb24')
    return np.stack([frames[min(i, last_index)] for i in wanted.tolist()]), fps


def _empty_reason(start, end) -> str:
    if start is None and end is None:
        return 'no frame could be decoded'
    return f'no frame could be decoded in the range [{start}, {end}] s'


def to_uint8_frames(frames) -> np.ndarray:
    """Accept (F, H, W, 3) uint8 / float in [0, 1] arrays or tensors, return uint8 (F, H, W, 3)."""
    if hasattr(frames, 'detach'):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f'expected frames of shape (F, H, W, 3), got {frames.shape}; '
                         'a (3, F, H, W) tensor in [-1, 1] needs '
                         '((x.permute(1, 2, 3, 0) + 1) / 2) first')
    if frames.dtype != np.uint8:
        frames = np.clip(np.rint(frames.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    return frames


def video_tensor_to_uint8(video) -> np.ndarray:
    """A video in the models' layout and range as frames.

    Args:
        video (torch.Tensor): (3, F, H, W) in [-1, 1] (clamped), on any device.

    Returns:
        np.ndarray: uint8 (F, H, W, 3), ``round((x + 1) * 127.5)``.
    """
    frames = ((video.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte()
    return frames.permute(1, 2, 3, 0).cpu().numpy()


def hold_last_frame(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """Lengthen a clip to ``num_frames`` by repeating its last frame.

    Args:
        frames (np.ndarray): (F, ...), F >= 1.
        num_frames (int): the length wanted; a clip already as long is returned as it is.

    Returns:
        np.ndarray: (max(F, num_frames), ...).
    """
    missing = num_frames - len(frames)
    if missing <= 0:
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], missing, 0)])


def _mp4_codec() -> str:
    for name in ('libx264', 'h264', 'mpeg4'):
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, 'w')
                return name
            except (av.error.FFmpegError, ValueError):
                continue
    raise RuntimeError('this PyAV build has no H.264 or MPEG-4 encoder; write a .gif instead')


def write_video(path: str, frames, fps: Union[int, float] = 8, crf: int = 18) -> str:
    """Write ``frames`` (F, H, W, 3), uint8 or float in [0, 1], to ``path`` (.mp4 or .gif).

    MP4 uses libx264 (else mpeg4) with yuv420p, which needs even sizes: an odd height or width
    is padded by repeating the last row / column. ``crf`` sets libx264's quality (0 lossless).
    Returns ``path``.
    """
    frames = to_uint8_frames(frames)
    if len(frames) == 0:
        raise ValueError(f'no frames to write to {path}')
    if fps <= 0:
        raise InvalidValueError(f'fps must be positive, got {fps}')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = osp.splitext(path)[1].lower()
    if ext == '.gif':
        from PIL import Image
        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                       duration=max(1, int(round(1000.0 / fps))), optimize=False)
        return path
    if ext not in ('.mp4', '.mov', '.mkv', '.avi'):
        raise InvalidValueError(f'unsupported video extension {ext!r} for {path}: use .mp4 or .gif')
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode='edge')
    codec = _mp4_codec()
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(path, mode='w') as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = 'yuv420p'
        if codec == 'libx264':
            stream.options = {'crf': str(crf), 'preset': 'medium'}
        else:
            stream.bit_rate = max(400_000, 8 * frames.shape[1] * frames.shape[2] * int(fps))
        for array in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
