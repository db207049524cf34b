"""LAION-style tables -> ImageTextDataset JSONL, with size / aspect / score filters."""
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vidrd.data_tools.converters.image_text_table import convert_image_table
from vidrd.datasets import ImageTextDataset
from vidrd.utils.cli import user_error_message


def _image(path, width, height):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(path)


@pytest.fixture
def laion(tmp_path):
    images = tmp_path / 'images'
    sizes = {'000': (64, 48), '001': (20, 20), '002': (200, 40), '003': (50, 50), '005': (40, 40)}
    for key, (w, h) in sizes.items():
        _image(images / '00000' / f'{key}.jpg', w, h)
    # LAION's own column names; 005 has no size in the table (read from the file)
    table = dict(
        key=['000', '001', '002', '003', '004', '005'],
        url=[f'http://x.org/a/{k}.jpg' for k in ('000', '001', '002', '003', '004', '005')],
        TEXT=['a dog on grass', 'tiny', 'a wide banner', 'an ugly photo', 'not downloaded',
              'a cat'],
        WIDTH=[64, 20, 200, 50, 64, None], HEIGHT=[48, 20, 40, 50, 64, None],
        AESTHETIC_SCORE=[6.0, 6.0, 6.0, 3.0, 6.0, 5.5])
    path = str(tmp_path / 'part-00000.parquet')
    pq.write_table(pa.table(table), path)
    return path, str(images)


def test_parquet_filters_and_loads_in_the_image_text_dataset(tmp_path, laion):
    table, images = laion
    out = str(tmp_path / 'captions.jsonl')
    report = convert_image_table(table, out, images, path_format='00000/{key}.jpg', min_size=32,
                                 max_aspect_ratio=2.0, min_score=5.0)
    assert report.written == 2
    assert report.dropped == {'smaller than min size': 1, 'beyond max aspect ratio': 1,
                              'below min score': 1, 'without image file': 1}
    dataset = ImageTextDataset(ann_file=out, data_prefix=dict(img=images),
                               pipeline=[dict(type='LoadImage')])
    assert [dataset.get_data_info(i)['caption'] for i in range(2)] == ['a dog on grass', 'a cat']
    assert dataset[0]['img'].shape[:2] == (48, 64)

    # min size 45, no other filter: 002 (40 high) and 005 (40x40, size read from its header)
    report = convert_image_table(table, out, images, path_format='00000/{key}.jpg', min_size=45)
    assert report.written == 2 and report.dropped['smaller than min size'] == 3


def test_csv_with_a_path_column_and_url_basenames(tmp_path, cut_videos, load_tool):
    images = tmp_path / 'images'
    _image(images / 'a.png', 30, 30)
    csv_path = cut_videos.write_csv(str(tmp_path / 't.csv'), [
        dict(path='a.png', url='http://h/q/a.png', caption='red'),
        dict(path='b.png', url='http://h/q/b.png', caption='blue')], ['path', 'url', 'caption'])
    out = str(tmp_path / 'o.jsonl')
    assert convert_image_table(csv_path, out, str(images)).written == 1
    assert convert_image_table(csv_path, out, str(images),
                               path_format='{url_basename}').written == 1
    assert open(out).read() == '{"path": "a.png", "caption": "red"}\n'
    flags = load_tool('tools/data/convert_laion.py').FLAGS  # the tool's flags for the parameters
    with pytest.raises(ValueError, match='min_score needs a score column') as err:
        convert_image_table(csv_path, out, str(images), min_score=5)
    assert '--min-score needs a score column' in user_error_message(err.value, flags)
    no_path = cut_videos.write_csv(str(tmp_path / 'n.csv'), [dict(caption='x')], ['caption'])
    with pytest.raises(ValueError, match=r"no \"path\" column.*path_format") as err:
        convert_image_table(no_path, out, str(images))
    assert re.search(r'no "path" column.*--path-format', user_error_message(err.value, flags))


def test_command_line(tmp_path, laion, load_tool, capsys):
    table, images = laion
    out = str(tmp_path / 'captions.jsonl')
    load_tool('tools/data/convert_laion.py').main([
        table, '--image-dir', images, '--out', out, '--path-format', '00000/{key}.jpg',
        '--min-score', '5.8'])
    assert capsys.readouterr().out == ('6 rows: 3 written, dropped: 2 below min score, 1 '
                                       'without image file\n')


def test_the_plan_finds_the_columns_before_any_image_is_opened(tmp_path, cut_videos):
    from vidrd.data_tools.converters.image_text_table import (plan_image_table,
                                                              run_image_table_plan)
    table = cut_videos.write_csv(str(tmp_path / 'laion.csv'), [
        dict(TEXT='a cat', URL='http://x/cat.jpg', AESTHETIC_SCORE='6.5')],
        ['TEXT', 'URL', 'AESTHETIC_SCORE'])
    plan = plan_image_table(table, str(tmp_path / 'images'), path_format='{url_basename}',
                            min_score=5)
    assert (plan.caption_column, plan.url_column, plan.score_column) == (
        'TEXT', 'URL', 'AESTHETIC_SCORE')
    report = run_image_table_plan(plan, str(tmp_path / 'out.jsonl'))  # no image downloaded
    assert (report.rows, report.written, dict(report.dropped)) == (1, 0,
                                                                   {'without image file': 1})
