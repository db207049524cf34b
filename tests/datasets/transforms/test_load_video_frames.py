import numpy as np
import pytest

from vidrd.datasets.transforms import LoadVideoFrames


@pytest.fixture
def video(tmp_path, media):
    return media.write_ramp_video(str(tmp_path / 'v.mp4'), num_frames=20, fps=10)


def test_stride_and_centre_start(video, media):
    results = LoadVideoFrames(num_frames=4, frame_interval=3, clip_start='center')(
        dict(video_path=video))
    # span 9 of 20 frames -> slack 10 -> first frame 5
    np.testing.assert_array_equal(results['frame_inds'], [5, 8, 11, 14])
    np.testing.assert_array_equal(media.frame_index_of(results['frames']), [5, 8, 11, 14])
    assert results['frames'].shape == (4, 16, 24, 3)
    assert results['fps'] == pytest.approx(10 / 3)
    assert results['ori_shape'] == (16, 24)


def test_target_fps(video, media):
    results = LoadVideoFrames(num_frames=4, target_fps=5, clip_start='begin')(
        dict(video_path=video))
    np.testing.assert_array_equal(media.frame_index_of(results['frames']), [0, 2, 4, 6])
    assert results['fps'] == pytest.approx(5.0)


def test_random_start_stays_inside(video, media):
    np.random.seed(0)
    transform = LoadVideoFrames(num_frames=5, frame_interval=2, clip_start='random')
    starts = set()
    for _ in range(12):
        indices = media.frame_index_of(transform(dict(video_path=video))['frames'])
        assert np.all(np.diff(indices) == 2) and indices[0] >= 0 and indices[-1] <= 19
        starts.add(int(indices[0]))
    assert len(starts) > 3


def test_segment_range(video, media):
    results = LoadVideoFrames(num_frames=3, frame_interval=2, clip_start='begin')(
        dict(video_path=video, start=1.0, end=1.8))
    np.testing.assert_array_equal(media.frame_index_of(results['frames']), [10, 12, 14])


@pytest.mark.parametrize('mode,expected', [
    ('stretch', [0, 6, 13, 19]), ('repeat_last', [0, 8, 16, 19]), ('loop', [0, 8, 16, 4])])
def test_short_video_modes(video, media, mode, expected):
    results = LoadVideoFrames(num_frames=4, frame_interval=8, short_video=mode)(
        dict(video_path=video))
    np.testing.assert_array_equal(media.frame_index_of(results['frames']), expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match='clip_start'):
        LoadVideoFrames(clip_start='middle')
    with pytest.raises(ValueError, match='short_video'):
        LoadVideoFrames(short_video='pad')


def test_frame_step_and_frames_needed():
    assert LoadVideoFrames(num_frames=4, frame_interval=3).frame_step(10) == 3.0
    assert LoadVideoFrames(num_frames=4, frame_interval=3).frames_needed(10) == 10
    by_rate = LoadVideoFrames(num_frames=4, target_fps=8)
    assert by_rate.frame_step(25) == pytest.approx(3.125)
    assert by_rate.frames_needed(25) == 10  # floor(3 * 3.125) + 1
    assert by_rate.frame_step(0) == 1.0  # rate unknown: the frame interval


def test_counting_agrees_with_decoding(video):
    from vidrd.datasets.video_io import probe_video
    info = probe_video(video)
    assert LoadVideoFrames.header_frame_count(info) == 20
    assert LoadVideoFrames.count_frames(video) == 20
    assert LoadVideoFrames.count_frames(video, 1.0, 1.8) == 8
    assert LoadVideoFrames.count_frames(video, 1.0, 5.0) == 10  # the range ends with the video


@pytest.mark.parametrize('start,end', [(1.0, 1.05), (1.0, 1.0)])
def test_a_range_shorter_than_a_frame_counts_one_frame(video, media, start, end):
    """Decoding such a range gives the frame at ``start``: the count is 1, never 0."""
    from vidrd.datasets.video_io import read_video
    assert LoadVideoFrames.count_frames(video, start, end) == 1
    assert len(read_video(video, start, end)[0]) == 1
    results = LoadVideoFrames(num_frames=3, clip_start='begin')(
        dict(video_path=video, start=start, end=end))
    np.testing.assert_array_equal(media.frame_index_of(results['frames']), [10, 10, 10])


def test_a_silent_header_decodes_to_count(video, media, monkeypatch):
    """A header without a frame count: the range is decoded and its frames counted."""
    from vidrd.datasets.transforms import load_video_frames
    from vidrd.datasets.video_io import VideoInfo
    silent = VideoInfo(fps=10.0, num_frames=0, duration=0.0, height=16, width=24)
    monkeypatch.setattr(load_video_frames, 'probe_video', lambda path: silent)
    assert LoadVideoFrames.header_frame_count(silent, 1.0, 1.8) == 0
    assert LoadVideoFrames.count_frames(video, 1.0, 1.8) == 8
    assert LoadVideoFrames.count_frames(video) == 20
    picked = LoadVideoFrames.read_range(video, 1.0, 1.8, lambda n, fps: np.array([0, n - 1]))
    assert picked.num_available == 8 and picked.source_fps == 10.0
    np.testing.assert_array_equal(media.frame_index_of(picked.frames), [10, 17])
    results = LoadVideoFrames(num_frames=3, frame_interval=2, clip_start='begin')(
        dict(video_path=video, start=1.0, end=1.8))
    np.testing.assert_array_equal(media.frame_index_of(results['frames']), [10, 12, 14])
