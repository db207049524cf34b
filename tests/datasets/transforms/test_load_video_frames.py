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
