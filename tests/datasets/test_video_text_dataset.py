import pytest

from vidrd.datasets import DataNotFoundError, VideoTextDataset
from vidrd.registry import DATASETS


def test_csv_through_pipeline(video_folder, media):
    dataset = DATASETS.build(dict(type='VideoTextDataset', ann_file='ann.csv',
                                  data_root=str(video_folder), data_prefix=dict(video='videos'),
                                  pipeline=media.VIDEO_PIPELINE))
    assert len(dataset) == 3
    info = dataset.get_data_info(1)
    assert info['start'] == 0.5 and info['end'] == 1.5 and info['video_path'].endswith('b.mp4')
    for idx in range(3):
        data = dataset[idx]
        media.check_packed(data)
    sample = dataset[1]['data_samples']
    assert sample.caption == 'waves on a beach'
    # Range [0.5, 1.5) s of a 10 fps video holds 10 frames (5..14); a centred clip of 4 frames
    # with stride 2 spans 7, leaving 3 to share: it starts at floor(3 / 2) = 1.
    assert list(sample.frame_inds) == [1, 3, 5, 7]
    assert sample.video_path.endswith('b.mp4')


def test_jsonl_with_path_format(tmp_path, media):
    media.write_ramp_video(str(tmp_path / 'data' / '0001' / '42.mp4'))
    media.write_jsonl(str(tmp_path / 'data' / 'ann.jsonl'),
                      [dict(page_dir='0001', videoid=42, name='a tree in the wind')])
    dataset = VideoTextDataset(ann_file='ann.jsonl', data_root=str(tmp_path / 'data'),
                               path_format='{page_dir}/{videoid}.mp4', caption_key='name',
                               pipeline=media.VIDEO_PIPELINE)
    media.check_packed(dataset[0])
    assert dataset[0]['data_samples'].caption == 'a tree in the wind'


def test_missing_annotation_and_root_say_what_to_put_there(tmp_path, video_folder):
    with pytest.raises(DataNotFoundError, match=r'nothere.csv.*path,caption'):
        VideoTextDataset(ann_file='nothere.csv', data_root=str(video_folder))
    with pytest.raises(DataNotFoundError, match=r'no_such_root'):
        VideoTextDataset(ann_file='ann.csv', data_root=str(tmp_path / 'no_such_root'))


def test_missing_column_named(tmp_path, media):
    media.write_csv(str(tmp_path / 'ann.csv'), [dict(file='a.mp4', text='x')], ['file', 'text'])
    with pytest.raises(ValueError, match="'path'"):
        VideoTextDataset(ann_file=str(tmp_path / 'ann.csv'))
