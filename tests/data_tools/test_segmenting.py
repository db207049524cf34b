"""Shot detection (PySceneDetect) into the segments file that ActionRecognitionDataset reads."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from vidrd.data_tools import segmenting
from vidrd.data_tools.segmenting import (ShotDetection, progress_path, segment_videos,
                                         split_shot)
from vidrd.datasets import ActionRecognitionDataset
from vidrd.datasets.annotations import read_table
from vidrd.datasets.transforms import LoadVideoFrames
from vidrd.datasets.video_io import read_video

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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
    shots, detected_fps = segmenting.detect_shots(path, ShotDetection(detector, min_scene_len=5))
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


def _write_dataset_videos(root, cut_videos):
    cut_videos.write_cut_video(str(root / 'cooking' / 'a.mp4'), [0, 6, 37, 49], fps=10, seed=1,
                               textured=False)
    cut_videos.write_cut_video(str(root / 'dancing' / 'b.mp4'), [0, 25, 40], fps=10, seed=2,
                               textured=False)


def test_min_max_duration_and_the_output_loads_in_the_action_dataset(tmp_path, cut_videos):
    root = tmp_path / 'videos'
    _write_dataset_videos(root, cut_videos)
    out = str(tmp_path / 'segments.csv')
    report = segment_videos(str(root), out, ShotDetection(min_scene_len=3), min_duration=1.0,
                            max_duration=2.0, progress=False)
    assert report.segmented == 2 and not report.unreadable
    rows = read_table(out)
    assert list(rows[0]) == ['video_id', 'start', 'end', 'segment_id']
    by_video = {}
    for row in rows:
        by_video.setdefault(row['video_id'], []).extend((float(row['start']), float(row['end'])))
    # a.mp4: 0.6 s shot dropped, 3.1 s shot split into two <= 2 s, 1.2 s shot kept
    assert by_video['cooking/a'] == pytest.approx([0.6, 2.1, 2.1, 3.7, 3.7, 4.9])
    assert by_video['dancing/b'] == pytest.approx([0.0, 1.2, 1.2, 2.5, 2.5, 4.0])
    assert report.num_segments == 6

    ann = cut_videos.write_csv(str(tmp_path / 'ann.csv'), [
        dict(path='cooking/a.mp4', label='cooking', video_id='cooking/a'),
        dict(path='dancing/b.mp4', label='dancing', video_id='dancing/b')],
        ['path', 'label', 'video_id'])
    dataset = ActionRecognitionDataset(ann_file=ann, data_prefix=dict(video=str(root)),
                                       segments_file=out, pipeline=[])
    assert len(dataset) == 6
    # every segment decodes frames of one scene only (solid colours: every frame alike)
    load = LoadVideoFrames(num_frames=4, frame_interval=1, clip_start='begin',
                           short_video='stretch')
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        frames = load(dict(info))['frames'].astype(float)
        clip, _ = read_video(info['video_path'], info['start'], info['end'])
        assert len(clip) == round((info['end'] - info['start']) * 10)
        means = clip.reshape(len(clip), -1, 3).mean(axis=1)
        assert np.abs(means - means[0]).max() < 3, info['segment_id']
        assert frames.shape[0] == 4


def test_resume_after_a_kill_gives_the_uninterrupted_file(tmp_path, cut_videos, monkeypatch):
    root = tmp_path / 'videos'
    for k in range(4):
        cut_videos.write_cut_video(str(root / f'v{k}.mp4'), [0, 12, 30], fps=10, seed=k)
    detection = ShotDetection(min_scene_len=3)
    straight = str(tmp_path / 'straight.csv')
    segment_videos(str(root), straight, detection, max_duration=1.0, progress=False)

    resumed = str(tmp_path / 'resumed.csv')
    real = segmenting.segment_video
    calls = []

    def dies_at_the_third(*args):
        calls.append(args[0])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the kill
        return real(*args)

    monkeypatch.setattr(segmenting, 'segment_video', dies_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        segment_videos(str(root), resumed, detection, max_duration=1.0, progress=False)
    monkeypatch.setattr(segmenting, 'segment_video', real)
    # a kill while v2's rows were being written: a full row and half a row, no progress record
    with open(resumed, 'a') as file:
        file.write('v2,0,1,v2_000\nv2,1,1.')
    report = segment_videos(str(root), resumed, detection, max_duration=1.0, progress=False)
    assert report.skipped_done == 2 and report.segmented == 2
    assert open(resumed).read() == open(straight).read()

    # everything done: nothing is decoded again
    monkeypatch.setattr(segmenting, 'detect_shots', lambda *a: pytest.fail('decoded again'))
    assert segment_videos(str(root), resumed, detection, progress=False).skipped_done == 4


def test_unreadable_videos_are_reported_and_skipped(tmp_path, cut_videos):
    root = tmp_path / 'videos'
    cut_videos.write_cut_video(str(root / 'good.mp4'), [0, 15, 30], fps=10)
    (root / 'empty.mp4').write_bytes(b'')
    (root / 'corrupt.mp4').write_bytes(np.random.default_rng(0).bytes(3000))
    out = str(tmp_path / 'segments.csv')
    report = segment_videos(str(root), out, ShotDetection(min_scene_len=3), progress=False)
    assert set(report.unreadable) == {'empty', 'corrupt'}
    assert '0 bytes' in report.unreadable['empty']
    assert report.segmented == 1 and {r['video_id'] for r in read_table(out)} == {'good'}
    records = [json.loads(line) for line in open(progress_path(out))]
    assert {r['video_id']: r['status'] for r in records} == {
        'corrupt': 'unreadable', 'empty': 'unreadable', 'good': 'done'}
    # unreadable ones are tried again by the next run (the file may have been replaced)
    again = segment_videos(str(root), out, ShotDetection(min_scene_len=3), progress=False)
    assert again.skipped_done == 1 and set(again.unreadable) == {'empty', 'corrupt'}
    assert 'unreadable corrupt' in again.summary()


def test_command_line_with_workers_matches_one_process(tmp_path, cut_videos):
    root = tmp_path / 'videos'
    _write_dataset_videos(root, cut_videos)
    single = str(tmp_path / 'single.csv')
    segment_videos(str(root), single, ShotDetection(min_scene_len=3), 1.0, 2.0, progress=False)
    out = str(tmp_path / 'workers.csv')
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'data', 'segment_videos.py'), str(root),
         '--out', out, '--min-duration', '1', '--max-duration', '2', '--min-scene-len', '3',
         '--workers', '2'], capture_output=True, text=True, cwd=REPO,
        env=dict(__import__('os').environ, PYTHONPATH=REPO))
    assert result.returncode == 0, result.stderr
    assert '6 segments' in result.stdout
    assert open(out).read() == open(single).read()
