"""check_dataset: every bad sample of a mixed config reported with its reason; the cleaned
annotation trains."""
import os.path as osp

import numpy as np
import pytest

from vidrd.apis.run_config import build_runner, load_config
from vidrd.data_tools.checking import leaf_dataset_configs
from vidrd.datasets.annotations import read_table
from vidrd.datasets.video_io import write_video

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
VIDEO_PIPELINE = [
    dict(type='LoadVideoFrames', num_frames=4, frame_interval=2),
    dict(type='Resize', scale=16),
    dict(type='CenterCrop', size=16),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]
IMAGE_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='ImageToPseudoVideo', num_frames=4, size=(16, 16)),
    dict(type='NormalizeVideo'),
    dict(type='PackVideoInputs'),
]


@pytest.fixture
def mixed_config(tmp_path, cut_videos):
    videos = tmp_path / 'videos'
    for name in ('good0', 'good1', 'good2'):
        cut_videos.write_cut_video(str(videos / f'{name}.mp4'), [0, 20], seed=len(name),
                                   height=16, width=24)
    cut_videos.write_cut_video(str(videos / 'short.mp4'), [0, 4], height=16, width=24)
    write_video(str(videos / 'banner.mp4'), np.full((8, 8, 80, 3), 90, np.uint8), fps=10)
    write_video(str(videos / 'tiny.mp4'), np.full((8, 6, 6, 3), 90, np.uint8), fps=10)
    (videos / 'corrupt.mp4').write_bytes(np.random.default_rng(0).bytes(2000))
    (videos / 'zero.mp4').write_bytes(b'')
    names = ['good0', 'corrupt', 'good1', 'zero', 'short', 'banner', 'tiny', 'missing',
             'good2']
    cut_videos.write_csv(str(tmp_path / 'ann.csv'),
                         [dict(path=f'{n}.mp4', caption='a red circle moving left')
                          for n in names] +
                         [dict(path='good1.mp4', caption='a short range', start='0',
                               end='0.3')], ['path', 'caption', 'start', 'end'])
    from PIL import Image
    (tmp_path / 'images').mkdir()
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(tmp_path / 'images' / 'ok.png')
    (tmp_path / 'images' / 'bad.png').write_bytes(b'\x89PNG\r\n\x1a\n broken')
    (tmp_path / 'images.jsonl').write_text('{"path": "ok.png", "caption": "a blue square"}\n'
                                           '{"path": "bad.png", "caption": "a red square"}\n')
    config = tmp_path / 'mixed.py'
    config.write_text(f"""
train_dataloader = dict(batch_size=2, dataset=dict(type='MixedDataset', datasets=[
    dict(type='VideoTextDataset', data_root={str(tmp_path)!r}, ann_file='ann.csv',
         data_prefix=dict(video='videos'), pipeline={VIDEO_PIPELINE!r}),
    dict(type='ImageTextDataset', data_root={str(tmp_path)!r}, ann_file='images.jsonl',
         data_prefix=dict(img='images'), pipeline={IMAGE_PIPELINE!r})]))
""")
    return str(config)


def test_bad_samples_are_reported_with_reasons_and_the_cleaned_annotation_trains(
        tmp_path, mixed_config, capsys, tiny_config_options, load_tool):
    tool = load_tool('tools/data/check_dataset.py')
    checks = tool.main([mixed_config, '--workers', '2', '--write-clean', str(tmp_path / 'clean')])
    videos, images = checks
    found = {(osp.basename(p.path), p.kind) for p in videos.problems}
    assert found == {('corrupt.mp4', 'unreadable'), ('zero.mp4', 'empty'),
                     ('short.mp4', 'too short'), ('banner.mp4', 'odd size'),
                     ('tiny.mp4', 'odd size'), ('missing.mp4', 'missing'),
                     ('good1.mp4', 'too short')}
    reasons = {osp.basename(p.path) + p.kind: p.reason for p in videos.problems}
    assert reasons['short.mp4too short'] == '4 frames in the range, the clip needs 7 ' \
                                            '(4 frames, 2 apart)'
    assert 'aspect ratio 10.00' in reasons['banner.mp4odd size']
    assert reasons['tiny.mp4odd size'] == '6x6 source for a 16x16 clip (upscaled more than 2x)'
    assert videos.counts()['ok'] == 3 and videos.num_samples == 10
    assert [(osp.basename(p.path), p.kind) for p in images.problems] == [('bad.png',
                                                                           'unreadable')]
    printed = capsys.readouterr().out
    assert 'dataset.datasets[0]:VideoTextDataset  10       3   1        1      1' in printed
    assert '8 bad sample(s)' in printed and 'zero.mp4: empty: empty file (0 bytes)' in printed

    clean = str(tmp_path / 'clean' / '0_ann.csv')
    assert [r['path'] for r in read_table(clean)] == ['good0.mp4', 'good1.mp4', 'good2.mp4']
    assert [r['path'] for r in read_table(str(tmp_path / 'clean' / '1_images.jsonl'))] == [
        'ok.png']

    options = {k: v for k, v in tiny_config_options.items()
               if not k.startswith('train_dataloader.dataset.')}
    options.update({'train_cfg.max_iters': 2, 'default_hooks.checkpoint.interval': 100,
                    'train_dataloader.dataset': dict(
                        _delete_=True, type='VideoTextDataset', ann_file=clean,
                        data_prefix=dict(video=str(tmp_path / 'videos')),
                        pipeline=VIDEO_PIPELINE)})
    runner = build_runner(load_config(TINY, options, work_dir=str(tmp_path / 'work')))
    runner.train()
    assert runner.iter == 2
    assert runner.train_dataloader.dataset.bad_samples.count == 0


def test_leaf_datasets_of_nested_mixes_and_wrappers():
    cfg = dict(type='MixedDataset', datasets=[
        dict(type='VideoTextDataset', ann_file='a'),
        dict(type='MixedDataset', datasets=[dict(type='RepeatDataset', times=2,
                                                 dataset=dict(type='ImageTextDataset'))])])
    assert [name for name, _ in leaf_dataset_configs(cfg)] == [
        'dataset.datasets[0]:VideoTextDataset',
        'dataset.datasets[1].datasets[0].dataset:ImageTextDataset']


def test_action_segments_too_short_or_of_broken_videos_leave_the_cleaned_segments(
        tmp_path, cut_videos):
    from vidrd.data_tools.checking import check_dataset, write_clean_annotations
    videos = tmp_path / 'videos'
    cut_videos.write_cut_video(str(videos / 'a.mp4'), [0, 30], height=16, width=24)
    (videos / 'b.mp4').write_bytes(b'garbage')
    ann = cut_videos.write_csv(str(tmp_path / 'ann.csv'), [
        dict(path='a.mp4', label='cooking', video_id='a'),
        dict(path='b.mp4', label='dancing', video_id='b')], ['path', 'label', 'video_id'])
    segments = cut_videos.write_csv(str(tmp_path / 'segments.csv'), [
        dict(video_id='a', start='0', end='1.5', segment_id='a_000'),
        dict(video_id='a', start='1.5', end='1.9', segment_id='a_001'),
        dict(video_id='a', start='1.9', end='3', segment_id='a_002'),
        dict(video_id='b', start='0', end='2', segment_id='b_000')],
        ['video_id', 'start', 'end', 'segment_id'])
    checks = check_dataset(dict(type='ActionRecognitionDataset', ann_file=ann,
                                data_prefix=dict(video=str(videos)), segments_file=segments,
                                pipeline=VIDEO_PIPELINE), progress=False)
    assert [(p.start, p.end, p.kind) for p in checks[0].problems] == [
        (1.5, 1.9, 'too short'), (0.0, 2.0, 'unreadable')]
    written = write_clean_annotations(checks, str(tmp_path / 'clean.csv'))
    assert written == [str(tmp_path / 'clean.csv'), str(tmp_path / 'clean_segments.csv')]
    assert [r['video_id'] for r in read_table(written[0])] == ['a']
    assert [r['segment_id'] for r in read_table(written[1])] == ['a_000', 'a_002']


def test_generated_data_is_checked_through_the_datasets_own_preparation():
    from vidrd.data_tools.checking import check_dataset, report_text
    cfg = dict(type='MovingShapesDataset', num_frames=4, size=12, num_samples=6, seed=0,
               pipeline=[dict(type='NormalizeVideo'), dict(type='PackVideoInputs')])
    checks = check_dataset(cfg, progress=False)
    assert checks[0].counts()['ok'] == 6 and not checks[0].problems
    broken = dict(cfg, pipeline=[dict(type='PackVideoInputs')])  # uint8 frames: refused
    problems = check_dataset(broken, progress=False)[0].problems
    assert len(problems) == 6 and problems[0].kind == 'pipeline error'
    assert 'NormalizeVideo' in problems[0].reason and '6 bad sample(s)' in report_text(
        check_dataset(broken, progress=False))
