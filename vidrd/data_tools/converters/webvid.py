"""Check that a video-text table (WebVid's ``results_2M_train.csv``) has the columns a config's
``VideoTextDataset`` names, reading its header only (the full table has millions of rows)."""
import csv
import json
import os.path as osp
import string
from typing import List

from vidrd.datasets.annotations import require_file

WEBVID_HINT = ("WebVid's results CSV has the columns videoid,contentUrl,duration,page_dir,name: "
               "path_format='{page_dir}/{videoid}.mp4', caption_key='name'")


def table_columns(path: str) -> List[str]:
    """The column names of a CSV / TSV header, or the keys of a JSONL file's first object."""
    require_file(path, 'video-text annotation file')
    ext = osp.splitext(path)[1].lower()
    with open(path, newline='', encoding='utf-8') as file:
        if ext in ('.csv', '.tsv'):
            header = next(csv.reader(file, delimiter='\t' if ext == '.tsv' else ','), [])
            return [name.strip() for name in header]
        if ext == '.jsonl':
            for line in file:
                if line.strip():
                    return list(json.loads(line))
            return []
    raise ValueError(f'{path}: cannot read the columns of a {ext!r} file (use .csv / .jsonl)')


def format_fields(path_format: str) -> List[str]:
    """The fields a ``str.format`` pattern uses: ``'{page_dir}/{videoid}.mp4'`` -> both."""
    return [name.split('.')[0].split('[')[0]
            for _, name, _, _ in string.Formatter().parse(path_format) if name]


def check_video_text_columns(ann_file: str, path_format: str = '{path}',
                             caption_key: str = 'caption') -> List[str]:
    """Raise ``ValueError`` naming every column the config needs that ``ann_file`` lacks;
    return the file's columns."""
    columns = table_columns(ann_file)
    needed = format_fields(path_format) + [caption_key]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise ValueError(f'{ann_file}: the config names column(s) {missing} (path_format='
                         f'{path_format!r}, caption_key={caption_key!r}) that the file does not '
                         f'have; its columns: {columns}. {WEBVID_HINT}')
    return columns


def check_dataset_columns(dataset_cfg: dict) -> None:
    """:func:`check_video_text_columns` for a ``VideoTextDataset`` config (``ann_file``
    relative to its ``data_root``); other datasets pass."""
    if dataset_cfg.get('type') != 'VideoTextDataset':
        return
    ann_file = dataset_cfg['ann_file']
    if dataset_cfg.get('data_root') and not osp.isabs(ann_file):
        ann_file = osp.join(dataset_cfg['data_root'], ann_file)
    check_video_text_columns(ann_file, dataset_cfg.get('path_format', '{path}'),
                             dataset_cfg.get('caption_key', 'caption'))
