"""Helpers that write real tiny media files (mp4 with PyAV, PNG, annotation tables) in tmp_path.

Tests reach them through the ``media`` fixture (conftest modules are not importable by name).
"""
import csv
import json
import os
import types
import os.path as osp

import numpy as np
import pytest

from vidrd.datasets.video_io import write_video


def ramp_frames(num_frames: int, height: int = 16, width: int = 24, step: int = 12) -> np.ndarray:
    """uint8 (F, H, W, 3) frames whose grey level is ``step * frame index``: the decoded
    brightness tells which source frame was sampled."""
    levels = (np.arange(num_frames) * step).clip(0, 255).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (num_frames, height, width, 3)).copy()


def frame_index_of(frames: np.ndarray, step: int = 12) -> np.ndarray:
    """Source frame index of each decoded ``ramp_frames`` frame."""
    return np.rint(frames.reshape(len(frames), -1).mean(axis=1) / step).astype(int)


def write_ramp_video(path: str, num_frames: int = 20, fps: float = 10, height: int = 16,
                     width: int = 24) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    return write_video(path, ramp_frames(num_frames, height, width), fps=fps, crf=0)


def write_png(path: str, height: int = 40, width: int = 60, seed: int = 0) -> str:
    from PIL import Image
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                      rng.integers(0, 255, (height, width))], axis=-1).astype(np.uint8)
    Image.fromarray(image).save(path)
    return path


def write_csv(path: str, rows, fields) -> str:
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def write_jsonl(path: str, rows) -> str:
    with open(path, 'w') as file:
        for row in rows:
            file.write(json.dumps(row) + '\n')
    return path


VIDEO_PIPELINE = [
    dict(type='LoadVideoFrames', num_frames=4, frame_interval=2, clip_start='center'),
    dict(type='Resize', scale=16),
    dict(type='CenterCrop', size=16),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]


def check_packed(data, num_frames: int = 4, size: int = 16) -> None:
    from vidrd.datasets import VideoDataSample
    inputs = data['inputs']
    assert tuple(inputs.shape) == (3, num_frames, size, size)
    assert inputs.dtype.is_floating_point
    assert inputs.min() >= -1.0 and inputs.max() <= 1.0
    assert isinstance(data['data_samples'], VideoDataSample)
    assert isinstance(data['data_samples'].caption, str) and data['data_samples'].caption


@pytest.fixture
def video_folder(tmp_path):
    """Three 20-frame 10 fps ramp videos and a CSV annotation (path, caption, start, end)."""
    root = tmp_path / 'webvid'
    for name in ('a', 'b', 'c'):
        write_ramp_video(str(root / 'videos' / f'{name}.mp4'))
    rows = [dict(path='a.mp4', caption='a cat walking left', start='', end=''),
            dict(path='b.mp4', caption='waves on a beach', start='0.5', end='1.5'),
            dict(path='c.mp4', caption='a dog running', start='', end='')]
    write_csv(str(root / 'ann.csv'), rows, ['path', 'caption', 'start', 'end'])
    return root


@pytest.fixture
def media():
    """The helpers above, as attributes."""
    return types.SimpleNamespace(
        ramp_frames=ramp_frames, frame_index_of=frame_index_of, write_ramp_video=write_ramp_video,
        write_png=write_png, write_csv=write_csv, write_jsonl=write_jsonl,
        VIDEO_PIPELINE=[dict(t) for t in VIDEO_PIPELINE], check_packed=check_packed)
