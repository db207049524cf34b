"""Shots of one video (PySceneDetect), cut to length."""
import numpy as np
import pytest

from vidrd.data_tools.shot_detection import ShotDetection, detect_shots, split_shot


@pytest.mark.parametrize('detector', ['content', 'adaptive'])
@pytest.mark.parametrize('fps,cuts,textured', [
    (10, [0, 17, 40, 52, 80], True),
    (25, [0, 31, 50, 90], False),
    (12, [0, 20, 33, 60], (True, False, True)),
])
def test_boundaries_lie_within_one_frame_of_the_true_cuts(tmp_path, cut_videos, detector, fps,
                                                          cuts, textured):
    path = cut_videos.write_cut_video(str(tmp_path / 'v.mp4'), cuts, fps=fps, seed=len(cuts),
                                      textured=textured)
    shots, detected_fps = detect_shots(path, ShotDetection(detector, min_scene_len=5))
    assert detected_fps == pytest.approx(fps)
    assert len(shots) == len(cuts) - 1
    starts = np.array([a for a, _ in shots]) / fps
    ends = np.array([b for _, b in shots]) / fps
    assert np.abs(starts - np.array(cuts[:-1]) / fps).max() <= 1 / fps + 1e-9
    assert np.abs(ends - np.array(cuts[1:]) / fps).max() <= 1 / fps + 1e-9


def test_split_shot_limits_the_length_and_drops_short_shots():
    # 31 frames at 10 fps, at most 1 s: 4 pieces of 7-8 frames, contiguous
    pieces = split_shot(5, 36, 10.0, min_duration=0.0, max_duration=1.0)
    assert len(pieces) == 4 and pieces[0][0] == 5 and pieces[-1][1] == 36
    assert all(b1 == a2 for (_, b1), (a2, _) in zip(pieces[:-1], pieces[1:]))
    assert all(b - a <= 10 for a, b in pieces)
    assert split_shot(0, 9, 10.0, min_duration=1.0, max_duration=None) == []
    assert split_shot(0, 10, 10.0, min_duration=1.0, max_duration=None) == [(0, 10)]
    # an exact multiple is not split further
    assert split_shot(0, 20, 10.0, min_duration=0.0, max_duration=1.0) == [(0, 10), (10, 20)]
