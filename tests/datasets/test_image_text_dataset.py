import numpy as np
import pytest

from vidrd.datasets import ImageTextDataset
from vidrd.registry import DATASETS

PIPELINE = [dict(type='LoadImage'),
            dict(type='ImageToPseudoVideo', num_frames=6, size=16, zoom_range=(1.0, 1.3),
                 pan_range=0.2),
            dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]


def test_images_become_pseudo_videos(tmp_path, media):
    for i in range(3):
        media.write_png(str(tmp_path / 'images' / f'{i}.png'), height=30 + 5 * i, width=50, seed=i)
    media.write_jsonl(str(tmp_path / 'ann.jsonl'),
                      [dict(path=f'{i}.png', caption=f'picture {i}') for i in range(3)])
    dataset = DATASETS.build(dict(type='ImageTextDataset', ann_file='ann.jsonl',
                                  data_root=str(tmp_path), data_prefix=dict(img='images'),
                                  pipeline=PIPELINE))
    np.random.seed(0)
    for idx in range(3):
        data = dataset[idx]
        media.check_packed(data, num_frames=6)
        sample = data['data_samples']
        assert sample.caption == f'picture {idx}' and sample.img_path.endswith(f'{idx}.png')
        boxes = sample.zoom_pan_boxes
        assert boxes.shape == (6, 4) and boxes.min() >= 0
        assert boxes[:, 2].max() <= 50 and boxes[:, 3].max() <= 30 + 5 * idx
        # A pseudo-video moves: its frames are not all equal.
        assert (data['inputs'][:, 0] - data['inputs'][:, -1]).abs().max() > 0


def test_broken_image_skipped(tmp_path, media):
    media.write_png(str(tmp_path / 'good.png'))
    (tmp_path / 'bad.png').write_bytes(b'nope')
    media.write_csv(str(tmp_path / 'ann.csv'), [dict(path='bad.png', caption='x'),
                                                dict(path='good.png', caption='y')],
                    ['path', 'caption'])
    dataset = ImageTextDataset(ann_file='ann.csv', data_root=str(tmp_path), pipeline=PIPELINE)
    assert dataset[0]['data_samples'].caption == 'y'
    assert dataset.bad_samples.paths == [str(tmp_path / 'bad.png')]


def test_all_images_missing_fails_fast(tmp_path, media):
    media.write_csv(str(tmp_path / 'ann.csv'), [dict(path='gone.png', caption='x')],
                    ['path', 'caption'])
    with pytest.raises(FileNotFoundError, match=r'image files.*gone\.png'):
        ImageTextDataset(ann_file='ann.csv', data_root=str(tmp_path), pipeline=PIPELINE)
