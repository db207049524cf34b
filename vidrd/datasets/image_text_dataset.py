"""Image-text pairs, turned into pseudo-videos by ``ImageToPseudoVideo`` in the pipeline."""
import os.path as osp
from typing import Optional

from vidrd.registry import DATASETS
from .annotations import read_table
from .base_video_dataset import BaseVideoDataset
from vidrd.utils.errors import DataError

IMAGE_TEXT_FORMAT = ('a CSV with a header line and columns path,caption, or a JSONL file with one '
                     '{"path": ..., "caption": ...} object per line; paths relative to data_root '
                     '/ data_prefix["img"]')


@DATASETS.register_module()
class ImageTextDataset(BaseVideoDataset):
    """Images with captions (LAION / COCO style), for VidRD's image data.

    The pipeline should be ``LoadImage -> ImageToPseudoVideo -> NormalizeVideo ->
    PackVideoInputs``, so every image becomes a clip with a smooth random zoom and pan.

    Args:
        ann_file: annotation table (see ``IMAGE_TEXT_FORMAT``).
        data_root, data_prefix: where the images are (``dict(img='images/')``).
        path_format, caption_key: as in ``VideoTextDataset``.

    Data infos hold ``img_path`` and ``caption``.
    """

    path_key = 'img_path'
    file_kind = 'image'

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 path_format: str = '{path}',
                 caption_key: str = 'caption',
                 **kwargs):
        self.path_format = path_format
        self.caption_key = caption_key
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix or dict(img=''), **kwargs)

    def _data_root_hint(self) -> str:
        return 'the images and their annotation file'

    def load_data_list(self):
        rows = read_table(self.ann_file, 'image-text annotation file', IMAGE_TEXT_FORMAT)
        prefix = self.data_prefix.get('img', '')
        data_list = []
        for row_no, row in enumerate(rows, 1):
            try:
                relative = self.path_format.format(**row)
                caption = row[self.caption_key]
            except KeyError as error:
                raise DataError(f'{self.ann_file}: row {row_no} has no column {error} '
                               f'(columns: {sorted(row)}); expected {IMAGE_TEXT_FORMAT}') from None
            data_list.append(dict(img_path=osp.join(prefix, relative) if prefix else relative,
                                  caption=str(caption)))
        return data_list
