"""Kinetics CSV -> annotation + segments that ActionRecognitionDataset reads."""
import numpy as np
import pytest

from vidrd.data_tools.converters.kinetics import convert_kinetics
from vidrd.datasets import ActionRecognitionDataset
from vidrd.datasets.annotations import read_table

KINETICS_ROWS = [
    dict(label='abseiling', youtube_id='0347ZoDXyP0', time_start=14, time_end=24, split='train'),
    dict(label='air drumming', youtube_id='03V2idM7_KY', time_start=0, time_end=1,
         split='train'),
    dict(label='abseiling', youtube_id='missing0000', time_start=5, time_end=15, split='train'),
    dict(label='air drumming', youtube_id='val00000000', time_start=30, time_end=40,
         split='validate'),
]
FIELDS = ['label', 'youtube_id', 'time_start', 'time_end', 'split']


def test_trimmed_clips_round_trip_through_the_action_dataset(tmp_path, cut_videos):
    csv_path = cut_videos.write_csv(str(tmp_path / 'train.csv'), KINETICS_ROWS, FIELDS)
    videos = tmp_path / 'videos'
    for row in KINETICS_ROWS:
        if row['youtube_id'] != 'missing0000':
            name = f"{row['label']}/{row['youtube_id']}_{row['time_start']:06d}_" \
                   f"{row['time_end']:06d}.mp4"
            cut_videos.write_cut_video(str(videos / name), [0, 15], fps=10)
    ann, segments, classes = (str(tmp_path / n) for n in ('ann.csv', 'seg.csv', 'classes.txt'))
    report = convert_kinetics(csv_path, ann, segments, split='train', video_dir=str(videos),
                              out_classes=classes)
    assert (report.written, report.other_split) == (2, 1)
    assert report.missing_videos == ['abseiling/missing0000_000005_000015.mp4']
    assert open(classes).read().splitlines() == ['abseiling', 'air drumming']
    assert read_table(segments)[0] == dict(video_id='abseiling/0347ZoDXyP0_000014_000024',
                                           start='0', end='10',
                                           segment_id='abseiling/0347ZoDXyP0_000014_000024_000')

    dataset = ActionRecognitionDataset(ann_file=ann, data_prefix=dict(video=str(videos)),
                                       classes=classes, segments_file=segments,
                                       pipeline=[dict(type='LoadVideoFrames', num_frames=2)])
    assert len(dataset) == 2
    first = dataset[0]
    assert first['class_name'] == 'abseiling' and first['class_label'] == 0
    assert first['caption'] == 'a video of a person abseiling'
    assert (first['start'], first['end']) == (0.0, 10.0)
    assert dataset[1]['caption'] == 'a video of a person air drumming'
    assert np.asarray(first['frames']).shape[0] == 2


def test_full_videos_take_the_annotated_window_and_bad_tables_are_named(tmp_path, cut_videos):
    csv_path = cut_videos.write_csv(str(tmp_path / 'k700.csv'), KINETICS_ROWS[:2], FIELDS)
    ann, segments = str(tmp_path / 'ann.csv'), str(tmp_path / 'seg.csv')
    convert_kinetics(csv_path, ann, segments, path_format='{youtube_id}.mp4', trimmed=False)
    assert [(r['video_id'], r['start'], r['end']) for r in read_table(segments)] == [
        ('0347ZoDXyP0', '14', '24'), ('03V2idM7_KY', '0', '1')]
    assert read_table(ann)[1] == dict(path='03V2idM7_KY.mp4', label='air drumming',
                                      video_id='03V2idM7_KY')

    test_csv = cut_videos.write_csv(str(tmp_path / 'test.csv'),
                                    [dict(youtube_id='x', time_start=0, time_end=10)],
                                    ['youtube_id', 'time_start', 'time_end'])
    with pytest.raises(ValueError, match=r"test.csv: no column\(s\) \['label'\]"):
        convert_kinetics(test_csv, ann, segments)


def test_command_line(tmp_path, cut_videos, load_tool, capsys):
    csv_path = cut_videos.write_csv(str(tmp_path / 'train.csv'), KINETICS_ROWS, FIELDS)
    load_tool('tools/data/convert_kinetics.py').main([
        csv_path, '--out-ann', str(tmp_path / 'ann.csv'), '--out-segments',
        str(tmp_path / 'seg.csv'), '--classes', str(tmp_path / 'classes.txt'), '--split',
        'validate', '--full-videos', '--path-format', '{split}/{youtube_id}.mp4'])
    assert capsys.readouterr().out.startswith('4 rows: 1 written (1 classes), 3 of another split')
    assert read_table(str(tmp_path / 'seg.csv')) == [dict(
        video_id='validate/val00000000', start='30', end='40',
        segment_id='validate/val00000000_000')]
