import json

import pytest

from vidrd.datasets import ActionRecognitionDataset, humanize_class_name

PIPELINE = [dict(type='LoadVideoFrames', num_frames=3, frame_interval=1, clip_start='begin'),
            dict(type='Resize', scale=16), dict(type='CenterCrop', size=16),
            dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]


@pytest.fixture
def kinetics_root(tmp_path, media):
    """Class folders of 20-frame (2 s) videos, like an unpacked Kinetics subset."""
    root = tmp_path / 'kinetics'
    for class_name, ids in (('playing guitar', ['g1', 'g2']), ('riding_a_bike', ['b1'])):
        for video_id in ids:
            media.write_ramp_video(str(root / 'train' / class_name / f'{video_id}.mp4'))
    return root


def test_humanize_class_name():
    assert humanize_class_name('PlayingGuitar') == 'playing guitar'
    assert humanize_class_name('riding_a_bike') == 'riding a bike'
    assert humanize_class_name('playing guitar') == 'playing guitar'


def test_folder_layout_with_captions_templates_and_segments(kinetics_root, media):
    (kinetics_root / 'captions.json').write_text(json.dumps({
        'g1': 'a man strumming an acoustic guitar on a sofa',
        'g2_001': 'close-up of fingers on guitar strings'}))
    media.write_csv(str(kinetics_root / 'segments.csv'),
                    [dict(video_id='g2', start=0.0, end=1.0),
                     dict(video_id='g2', start=1.0, end=2.0),
                     dict(video_id='unknown', start=0.0, end=1.0)], ['video_id', 'start', 'end'])
    dataset = ActionRecognitionDataset(
        data_root=str(kinetics_root), data_prefix=dict(video='train'),
        caption_file='captions.json', segments_file='segments.csv', pipeline=PIPELINE)
    assert dataset.metainfo['classes'] == ('playing guitar', 'riding_a_bike')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    by_key = {(i['video_id'], i['start']): i for i in infos}
    assert len(infos) == 4  # g1 whole, g2 as two segments, b1 whole
    assert by_key[('g1', None)]['caption'] == 'a man strumming an acoustic guitar on a sofa'
    # Segment-level caption first, then video-level, then the class template.
    assert by_key[('g2', 1.0)]['caption'] == 'close-up of fingers on guitar strings'
    assert by_key[('g2', 0.0)]['caption'] == 'a video of a person playing guitar'
    assert by_key[('b1', None)]['caption'] == 'a video of a person riding a bike'
    assert by_key[('b1', None)]['class_label'] == 1
    for idx in range(len(dataset)):
        data = dataset[idx]
        media.check_packed(data, num_frames=3)
    second = dataset[[i for i, info in enumerate(infos)
                      if info['video_id'] == 'g2' and info['start'] == 1.0][0]]
    # The clip of the segment [1, 2) s starts at source frame 10.
    assert second['data_samples'].start == 1.0
    assert second['inputs'][0, 0].mean().item() == pytest.approx(10 * 12 / 127.5 - 1, abs=0.05)


def test_annotation_table_with_index_labels_and_caption_csv(kinetics_root, media):
    media.write_csv(str(kinetics_root / 'ann.csv'),
                    [dict(label=1, youtube_id='b1', folder='riding_a_bike'),
                     dict(label=0, youtube_id='g1', folder='playing guitar')],
                    ['label', 'youtube_id', 'folder'])
    media.write_csv(str(kinetics_root / 'captions.csv'),
                    [dict(id='b1', caption='a kid cycling down a hill')], ['id', 'caption'])
    dataset = ActionRecognitionDataset(
        ann_file='ann.csv', data_root=str(kinetics_root), data_prefix=dict(video='train'),
        classes=['playing guitar', 'riding a bike'], path_format='{folder}/{youtube_id}.mp4',
        caption_file='captions.csv', caption_template='someone {class}', pipeline=PIPELINE)
    assert dataset.get_data_info(0)['caption'] == 'a kid cycling down a hill'
    assert dataset.get_data_info(1)['caption'] == 'someone playing guitar'
    assert dataset[0]['data_samples'].class_label == 1


def test_errors_name_the_problem(kinetics_root, media):
    with pytest.raises(FileNotFoundError, match='caps.json'):
        ActionRecognitionDataset(data_root=str(kinetics_root), data_prefix=dict(video='train'),
                                 caption_file='caps.json')
    media.write_csv(str(kinetics_root / 'seg.csv'), [dict(video_id='g1', start=2, end=1)],
                    ['video_id', 'start', 'end'])
    with pytest.raises(ValueError, match='end 1.0 <= start 2.0'):
        ActionRecognitionDataset(data_root=str(kinetics_root), data_prefix=dict(video='train'),
                                 segments_file='seg.csv')
