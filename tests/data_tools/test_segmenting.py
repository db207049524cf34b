"""Shot detection (PySceneDetect) into the segments file that ActionRecognitionDataset reads."""
import json

import numpy as np
import pytest

from vidrd.data_tools import segmenting
from vidrd.data_tools.segmenting import progress_path, segment_videos
from vidrd.data_tools.shot_detection import ShotDetection
from vidrd.datasets import ActionRecognitionDataset
from vidrd.datasets.annotations import read_table
from vidrd.datasets.transforms import LoadVideoFrames
from vidrd.datasets.video_io import read_video

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
    monkeypatch.setattr(segmenting, 'segment_video', lambda *a: pytest.fail('decoded again'))
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


def test_command_line_with_workers_matches_one_process(tmp_path, cut_videos, capsys, load_tool):
    root = tmp_path / 'videos'
    _write_dataset_videos(root, cut_videos)
    single = str(tmp_path / 'single.csv')
    segment_videos(str(root), single, ShotDetection(min_scene_len=3), 1.0, 2.0, progress=False)
    tool = load_tool('tools/data/segment_videos.py')
    out = str(tmp_path / 'workers.csv')
    tool.main([str(root), '--out', out, '--min-duration', '1', '--max-duration', '2',
               '--min-scene-len', '3', '--workers', '2'])
    assert '2 segmented into 6 segments' in capsys.readouterr().out
    assert open(out).read() == open(single).read()


def test_bad_arguments_and_clashing_video_ids_are_named(tmp_path, cut_videos):
    with pytest.raises(ValueError, match="unknown shot detector 'hist'"):
        ShotDetection('hist')
    with pytest.raises(ValueError, match='min_duration 5.0 s exceeds max_duration 2.0 s'):
        segment_videos(str(tmp_path), str(tmp_path / 's.csv'), min_duration=5.0,
                       max_duration=2.0)
    with pytest.raises(FileNotFoundError, match='video folder not found'):
        segment_videos(str(tmp_path / 'nowhere'), str(tmp_path / 's.csv'))
    cut_videos.write_cut_video(str(tmp_path / 'v' / 'x.mp4'), [0, 5])
    (tmp_path / 'v' / 'x.avi').write_bytes(b'')
    with pytest.raises(ValueError, match=r"share a video id.*\['x'\]"):
        segment_videos(str(tmp_path / 'v'), str(tmp_path / 's.csv'))
