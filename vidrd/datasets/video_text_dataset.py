"""Video-text pairs listed in a CSV / JSONL file (WebVid style)."""
import os.path as osp
from typing import Optional

from vidrd.registry import DATASETS
from .annotations import optional_float, read_table
from .base_video_dataset import BaseVideoDataset
from vidrd.utils.errors import DataError

VIDEO_TEXT_FORMAT = ('a CSV with a header line and columns path,caption[,start,end] (start / end '
                     'in seconds, optional), or a JSONL file with one {"path": ..., "caption": '
                     '...} object per line; paths relative to data_root / data_prefix["video"]')


@DATASETS.register_module()
class VideoTextDataset(BaseVideoDataset):
    """Videos with captions, one row per clip.

    Args:
        ann_file: CSV / TSV / JSONL / JSON annotation file (relative to ``data_root``), see
            ``VIDEO_TEXT_FORMAT``.
        data_root: root folder of the data.
        data_prefix: ``dict(video='videos/')``: folder of the videos, relative to ``data_root``.
        path_format: how a row's fields give the video path, e.g. WebVid's
            ``'{page_dir}/{videoid}.mp4'``; default ``'{path}'``.
        caption_key: the column holding the caption (WebVid: ``'name'``).
        start_key, end_key: columns of the clip's range in seconds (optional per row).
        pipeline, test_mode, lazy_init, max_refetch, check_files: see ``BaseVideoDataset``.

    Each data info holds ``video_path``, ``caption``, ``start`` and ``end`` (``None`` when absent).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 path_format: str = '{path}',
                 caption_key: str = 'caption',
                 start_key: str = 'start',
                 end_key: str = 'end',
                 **kwargs):
        self.path_format = path_format
        self.caption_key = caption_key
        self.start_key = start_key
        self.end_key = end_key
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix or dict(video=''), **kwargs)

    def _data_root_hint(self) -> str:
        return 'the videos and their annotation file'

    def load_data_list(self):
        rows = read_table(self.ann_file, 'video-text annotation file', VIDEO_TEXT_FORMAT)
        prefix = self.data_prefix.get('video', '')
        data_list = []
        for row_no, row in enumerate(rows, 1):
            try:
                relative = self.path_format.format(**row)
                caption = row[self.caption_key]
            except KeyError as error:
                raise DataError(f'{self.ann_file}: row {row_no} has no column {error} '
                               f'(columns: {sorted(row)}); expected {VIDEO_TEXT_FORMAT}') from None
            data_list.append(dict(
                video_path=osp.join(prefix, relative) if prefix else relative,
                caption=str(caption),
                start=optional_float(row.get(self.start_key)),
                end=optional_float(row.get(self.end_key))))
        return data_list
