import numpy as np
import pytest
import torch

from vidrd.datasets.bad_samples import UnreadableSampleError
from vidrd.datasets.video_io import probe_video, read_video, to_uint8_frames, write_video


def test_mp4_round_trip_and_probe(tmp_path, media):
    path = media.write_ramp_video(str(tmp_path / 'v.mp4'), num_frames=20, fps=10)
    info = probe_video(path)
    assert info.fps == pytest.approx(10.0)
    assert info.num_frames == 20
    assert (info.height, info.width) == (16, 24)
    assert info.duration == pytest.approx(2.0, abs=0.11)
    frames, fps = read_video(path)
    assert frames.shape == (20, 16, 24, 3) and frames.dtype == np.uint8
    assert fps == pytest.approx(10.0)
    np.testing.assert_array_equal(media.frame_index_of(frames), np.arange(20))


def test_read_range_and_selected_frames(tmp_path, media):
    path = media.write_ramp_video(str(tmp_path / 'v.mp4'), num_frames=20, fps=10)
    frames, _ = read_video(path, start=0.5, end=1.5)
    np.testing.assert_array_equal(media.frame_index_of(frames), np.arange(5, 15))
    # Indices count from the range start, repeats allowed, past the end -> last frame.
    frames, _ = read_video(path, start=0.5, frame_indices=[0, 2, 2, 40])
    np.testing.assert_array_equal(media.frame_index_of(frames), [5, 7, 7, 19])


def test_write_gif_float_and_odd_size(tmp_path):
    from PIL import Image
    frames = np.random.default_rng(0).random((5, 15, 17, 3)).astype(np.float32)
    gif = write_video(str(tmp_path / 'out' / 'v.gif'), frames, fps=5)
    with Image.open(gif) as image:
        assert image.n_frames == 5 and image.size == (17, 15)
    mp4 = write_video(str(tmp_path / 'odd.mp4'), frames, fps=5)
    decoded, _ = read_video(mp4)
    assert decoded.shape == (5, 16, 18, 3)  # yuv420p needs even sizes: padded by edge pixels


def test_to_uint8_frames_rejects_channel_first():
    with pytest.raises(ValueError, match=r'\(F, H, W, 3\)'):
        to_uint8_frames(torch.zeros(3, 4, 8, 8))


def test_missing_and_corrupt_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.mp4'):
        read_video(str(tmp_path / 'nope.mp4'))
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'not a video' * 50)
    with pytest.raises(UnreadableSampleError, match='bad.mp4') as info:
        read_video(str(bad))
    assert isinstance(info.value, OSError) and info.value.path == str(bad)
    with pytest.raises(ValueError, match='extension'):
        write_video(str(tmp_path / 'v.webp'), np.zeros((2, 4, 4, 3), np.uint8))


def test_video_tensor_to_uint8_and_hold_last_frame():
    from vidrd.datasets.video_io import hold_last_frame, video_tensor_to_uint8
    video = torch.tensor([-2.0, -1.0, 0.0, 1.0]).view(1, 4, 1, 1).expand(3, 4, 2, 2)
    frames = video_tensor_to_uint8(video)
    assert frames.dtype == np.uint8 and frames.shape == (4, 2, 2, 3)
    assert frames[:, 0, 0, 0].tolist() == [0, 0, 128, 255]  # clamped; round(127.5) is 128
    held = hold_last_frame(frames[:2], 4)
    assert held.shape == (4, 2, 2, 3) and (held[2:] == frames[1]).all()
    assert hold_last_frame(frames, 3) is frames  # long enough already
