"""Generated videos with hard cuts at known frames and small tables, for the data tools' tests."""
import csv
import os
import os.path as osp
import types

import numpy as np
import pytest

from vidrd.datasets.video_io import write_video


def scene_frames(num_frames: int, seed: int, height: int = 32, width: int = 48,
                 textured: bool = True) -> np.ndarray:
    """uint8 (F, H, W, 3): one shot, a two-colour sine texture drifting slowly (or a solid
    colour); different seeds give scenes a cut detector tells apart."""
    rng = np.random.default_rng(seed)
    low, high = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if not textured:
        return np.broadcast_to(low.round().astype(np.uint8), (num_frames, height, width, 3)).copy()
    y, x = np.mgrid[0:height, 0:width]
    fx, fy, phase = rng.uniform(1, 3), rng.uniform(1, 3), rng.uniform(0, 2 * np.pi)
    frames = []
    for i in range(num_frames):
        w = 0.5 + 0.5 * np.sin(2 * np.pi * (fx * x / width + fy * y / height) + phase + 0.15 * i)
        frames.append(high * w[..., None] + low * (1 - w[..., None]))
    return np.stack(frames).round().clip(0, 255).astype(np.uint8)


def write_cut_video(path: str, cuts, fps: float = 10, seed: int = 0, textured=True,
                    height: int = 32, width: int = 48) -> str:
    """A video whose shots are ``[cuts[k], cuts[k+1])`` frames (``cuts[0] == 0``)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    shots = [scene_frames(b - a, seed * 100 + k, height, width,
                          textured if isinstance(textured, bool) else textured[k])
             for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]
    return write_video(path, np.concatenate(shots), fps=fps)


def write_csv(path: str, rows, fields) -> str:
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def cut_videos():
    """The helpers above, as attributes."""
    return types.SimpleNamespace(scene_frames=scene_frames, write_cut_video=write_cut_video,
                                 write_csv=write_csv)
