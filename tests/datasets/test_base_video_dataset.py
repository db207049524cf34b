"""Robustness: unreadable videos are skipped and reported by path; all-missing fails at once."""
import logging

import pytest

from vidrd.datasets import SKIPPED_SAMPLES_KEY, DataNotFoundError, VideoTextDataset


def _dataset(root, media, **kwargs):
    return VideoTextDataset(ann_file='ann.csv', data_root=str(root),
                            data_prefix=dict(video='videos'), pipeline=media.VIDEO_PIPELINE,
                            **kwargs)


def test_corrupt_video_skipped_and_reported(video_folder, media, caplog):
    (video_folder / 'videos' / 'b.mp4').write_bytes(b'corrupt' * 100)
    dataset = _dataset(video_folder, media)
    with caplog.at_level(logging.WARNING):
        data = dataset[1]
    media.check_packed(data)
    assert data['data_samples'].caption != 'waves on a beach'  # another sample took its place
    skipped = data['data_samples'].metainfo[SKIPPED_SAMPLES_KEY]
    assert len(skipped) == 1 and skipped[0]['path'].endswith('b.mp4') and skipped[0]['index'] == 1
    assert dataset.bad_samples.count == 1
    assert dataset.bad_samples.paths[0].endswith('videos/b.mp4')
    assert 'b.mp4' in dataset.bad_samples.summary()
    # Readable samples carry no skip records.
    assert SKIPPED_SAMPLES_KEY not in dataset[0]['data_samples'].metainfo


def test_file_deleted_after_start_is_skipped(video_folder, media):
    dataset = _dataset(video_folder, media)
    (video_folder / 'videos' / 'c.mp4').unlink()
    media.check_packed(dataset[2])
    assert dataset.bad_samples.paths[0].endswith('c.mp4')


def test_replacement_is_deterministic(video_folder, media):
    (video_folder / 'videos' / 'b.mp4').write_bytes(b'corrupt')
    first = _dataset(video_folder, media)[1]['data_samples'].caption
    assert _dataset(video_folder, media)[1]['data_samples'].caption == first


def test_all_missing_fails_at_once_naming_a_path(video_folder, media):
    for name in ('a', 'b', 'c'):
        (video_folder / 'videos' / f'{name}.mp4').unlink()
    with pytest.raises(DataNotFoundError, match=r'none of the 3 video files.*a\.mp4'):
        _dataset(video_folder, media)


def test_all_unreadable_stops_naming_files(video_folder, media):
    for name in ('a', 'b', 'c'):
        (video_folder / 'videos' / f'{name}.mp4').write_bytes(b'junk')
    dataset = _dataset(video_folder, media, max_refetch=4)
    with pytest.raises(RuntimeError, match=r'5 unreadable samples in a row.*\.mp4'):
        dataset[0]


def test_programming_errors_are_not_swallowed(video_folder):
    dataset = VideoTextDataset(ann_file='ann.csv', data_root=str(video_folder),
                               data_prefix=dict(video='videos'),
                               pipeline=[dict(type='LoadVideoFrames', num_frames=2),
                                         dict(type='PackVideoInputs')])
    with pytest.raises(TypeError, match='NormalizeVideo'):
        dataset[0]
    assert dataset.bad_samples.count == 0
