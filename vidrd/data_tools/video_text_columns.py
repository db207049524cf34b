"""Check that a video-text table (WebVid's ``results_2M_train.csv``) has the columns a config's
``VideoTextDataset`` names, reading its header only (the full table has millions of rows).

Nothing is converted: a WebVid table is read as it is, through ``path_format`` and
``caption_key``.
"""
import csv
import json
import os.path as osp
import string
from typing import List

from vidrd.datasets.annotations import require_file
from vidrd.utils.errors import DataError

WEBVID_HINT = ("WebVid's results CSV has the columns videoid,contentUrl,duration,page_dir,name: "
               "path_format='{page_dir}/{videoid}.mp4', caption_key='name'")


def table_columns(path: str) -> List[str]:
    """The column names of a table, from its first line.

    Args:
        path (str): a CSV / TSV file (its header) or a JSONL file (the keys of its first
            object).

    Returns:
        List[str]: the column names, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataError: ``path`` is of another kind.
    """
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
    raise DataError(f'{path}: cannot read the columns of a {ext!r} file (use .csv / .jsonl)')


def format_fields(path_format: str) -> List[str]:
    """The fields a ``str.format`` pattern uses.

    Args:
        path_format (str): e.g. ``'{page_dir}/{videoid}.mp4'``.

    Returns:
        List[str]: e.g. ``['page_dir', 'videoid']``.
    """
    return [name.split('.')[0].split('[')[0]
            for _, name, _, _ in string.Formatter().parse(path_format) if name]


def check_video_text_columns(ann_file: str, path_format: str = '{path}',
                             caption_key: str = 'caption') -> List[str]:
    """Check that ``ann_file`` has every column ``path_format`` and ``caption_key`` name.

    Args:
        ann_file (str): the table (see :func:`table_columns`).
        path_format (str): the dataset's ``path_format``. Defaults to ``'{path}'``.
        caption_key (str): the dataset's ``caption_key``. Defaults to ``'caption'``.

    Returns:
        List[str]: the file's columns.

    Raises:
        DataError: naming every column the config needs that the file lacks.
    """
    columns = table_columns(ann_file)
    needed = format_fields(path_format) + [caption_key]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise DataError(f'{ann_file}: the config names column(s) {missing} (path_format='
                         f'{path_format!r}, caption_key={caption_key!r}) that the file does not '
                         f'have; its columns: {columns}. {WEBVID_HINT}')
    return columns


def _is_video_text_dataset(dataset_type) -> bool:
    """Whether a config's ``type`` (a registered name or a class) builds a ``VideoTextDataset``."""
    from vidrd.datasets.video_text_dataset import VideoTextDataset
    from vidrd.registry import DATASETS
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    return isinstance(cls, type) and issubclass(cls, VideoTextDataset)


def check_dataset_columns(dataset_cfg: dict) -> None:
    """:func:`check_video_text_columns` for a ``VideoTextDataset`` config; others pass.

    Args:
        dataset_cfg (dict): a dataset config; ``ann_file`` is relative to its ``data_root``.

    Raises:
        DataError: see :func:`check_video_text_columns`.
    """
    if not _is_video_text_dataset(dataset_cfg.get('type')):
        return
    ann_file = dataset_cfg['ann_file']
    if dataset_cfg.get('data_root') and not osp.isabs(ann_file):
        ann_file = osp.join(dataset_cfg['data_root'], ann_file)
    check_video_text_columns(ann_file, dataset_cfg.get('path_format', '{path}'),
                             dataset_cfg.get('caption_key', 'caption'))
