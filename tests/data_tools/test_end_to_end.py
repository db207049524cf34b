"""The paper's data composition end to end: long videos are segmented and captioned, tables
converted, and a mix of action clips and image pseudo-videos trains the tiny model."""
import json
import os.path as osp

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vidrd.apis.run_config import build_runner, load_config
from vidrd.data_tools.captioning import VisionLanguageCaptioner, caption_items, caption_videos
from vidrd.data_tools.converters.image_text_table import convert_image_table
from vidrd.data_tools.converters.kinetics import convert_kinetics
from vidrd.data_tools.segmenting import ShotDetection, segment_videos
from vidrd.datasets.annotations import read_table

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')


@pytest.mark.slow
def test_segment_caption_convert_and_train_on_the_composed_mix(tmp_path, cut_videos,
                                                               tiny_vlm_dirs,
                                                               tiny_config_options):
    # raw data: two long "YouTube" videos with hard cuts, a Kinetics CSV, a LAION table
    videos = tmp_path / 'kinetics' / 'videos'
    cuts = {'cooking': [0, 25, 40, 90], 'dancing': [0, 30, 70]}
    for label, frame_cuts in cuts.items():
        cut_videos.write_cut_video(str(videos / label / f'yt_{label}.mp4'), frame_cuts, fps=10,
                                   seed=len(label))
    kinetics_csv = cut_videos.write_csv(str(tmp_path / 'train.csv'), [
        dict(label=label, youtube_id=f'yt_{label}', time_start=0, time_end=9, split='train')
        for label in cuts], ['label', 'youtube_id', 'time_start', 'time_end', 'split'])
    images = tmp_path / 'laion' / 'images'
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (40 + 20 * k, 48, 3), dtype=np.uint8)).save(
            images / f'{k:03d}.jpg')
    pq.write_table(pa.table(dict(key=['000', '001', '002'], TEXT=['a red circle', 'a blue',
                                                                 'a green square'],
                                 AESTHETIC_SCORE=[6.0, 4.0, 6.5])),
                   str(tmp_path / 'laion' / 'part.parquet'))

    # 1. convert the tables
    ann = str(tmp_path / 'kinetics' / 'ann.csv')
    convert_kinetics(kinetics_csv, ann, str(tmp_path / 'kinetics' / 'windows.csv'),
                     path_format='{label}/{youtube_id}.mp4', trimmed=False, split='train',
                     video_dir=str(videos))
    image_ann = str(tmp_path / 'laion' / 'captions.jsonl')
    assert convert_image_table(str(tmp_path / 'laion' / 'part.parquet'), image_ann, str(images),
                               path_format='{key}.jpg', min_score=5.0).written == 2
    # 2. cut the long videos into shots of at most 3 s, none under 1 s
    segments = str(tmp_path / 'kinetics' / 'segments.csv')
    segment_videos(str(videos), segments, ShotDetection(min_scene_len=5), min_duration=1.0,
                   max_duration=3.0, progress=False)
    seg_rows = read_table(segments)
    assert [(r['video_id'], r['start'], r['end']) for r in seg_rows] == [
        ('cooking/yt_cooking', '0', '2.5'), ('cooking/yt_cooking', '2.5', '4'),
        ('cooking/yt_cooking', '4', '6.5'), ('cooking/yt_cooking', '6.5', '9'),
        ('dancing/yt_dancing', '0', '3'), ('dancing/yt_dancing', '3', '5'),
        ('dancing/yt_dancing', '5', '7')]
    # 3. caption every segment with the label in the prompt
    captions = str(tmp_path / 'kinetics' / 'captions.jsonl')
    captioner = VisionLanguageCaptioner(tiny_vlm_dirs['blip2'], device='cpu', max_new_tokens=4)
    items = caption_items(str(videos), segments, ann)
    caption_videos(items, captioner, captions, num_frames=2, batch_size=4,
                   caption_template='a person {label}, {description}', progress=False)
    written = [json.loads(line) for line in open(captions)]
    assert [r['id'] for r in written] == [r['segment_id'] for r in seg_rows]

    # 4. the composed mix trains the tiny model
    video_pipeline = [dict(type='LoadVideoFrames', num_frames=4, frame_interval=2),
                      dict(type='Resize', scale=16), dict(type='RandomCrop', size=16),
                      dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]
    image_pipeline = [dict(type='LoadImage'),
                      dict(type='ImageToPseudoVideo', num_frames=4, size=(16, 16)),
                      dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]
    mix = dict(_delete_=True, type='MixedDataset', weights=(0.6, 0.4), num_samples=8, seed=0,
               datasets=[
                   dict(type='ActionRecognitionDataset', ann_file=ann,
                        data_prefix=dict(video=str(videos)), segments_file=segments,
                        caption_file=captions, pipeline=video_pipeline),
                   dict(type='ImageTextDataset', ann_file=image_ann,
                        data_prefix=dict(img=str(images)), pipeline=image_pipeline)])
    options = {k: v for k, v in tiny_config_options.items()
               if not k.startswith('train_dataloader.dataset.')}
    options.update({'train_cfg.max_iters': 3, 'default_hooks.checkpoint.interval': 100,
                    'train_dataloader.dataset': mix})
    runner = build_runner(load_config(TINY, options, work_dir=str(tmp_path / 'work')))
    dataset = runner.train_dataloader.dataset
    assert len(dataset.datasets[0]) == 7 and len(dataset.datasets[1]) == 2
    by_id = {r['id']: r['caption'] for r in written}
    info = dataset.datasets[0].get_data_info(0)
    assert info['caption'] == by_id[info['segment_id']]
    assert info['caption'].startswith('a person cooking, ')
    runner.train()
    assert runner.iter == 3
    assert [c.count for c in dataset.bad_samples] == [0, 0]
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert np.isfinite(losses).all()
