"""Action-recognition videos (Kinetics-like) turned into video-text pairs.

Captions come from a caption file produced offline (e.g. by an LLM describing each clip), keyed by
segment id or video id; videos without one get a class-name template ("a video of a person
{class}"). Long videos are cut into clips by a segments file.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Union

from vidrd.registry import DATASETS
from vidrd.utils.logging import get_logger
from .annotations import optional_float, read_mapping, read_table, require_dir, require_file
from .base_video_dataset import BaseVideoDataset
from vidrd.utils.errors import DataError, InvalidValueError

ANNOTATION_FORMAT = ('a CSV / JSONL with a "path" column (or the fields of path_format) and a '
                     '"label" column (class name, or 0-based index into classes), optionally '
                     '"video_id"; or no ann_file and one sub-folder of videos per class')
CAPTION_FORMAT = ('a JSON object {"<video or segment id>": "caption", ...} or a CSV / JSONL with '
                  'columns id,caption')
SEGMENTS_FORMAT = 'a CSV / JSONL with columns video_id,start,end[,segment_id] (seconds)'
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v')


def humanize_class_name(name: str) -> str:
    """'PlayingGuitar' / 'playing_guitar' / 'playing guitar' -> 'playing guitar'."""
    name = name.replace('_', ' ').replace('-', ' ')
    name = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', ' ', name)
    return re.sub(r'\s+', ' ', name).strip().lower()


@DATASETS.register_module()
class ActionRecognitionDataset(BaseVideoDataset):
    """Class-labelled videos with captions.

    Args:
        ann_file: annotation table (see ``ANNOTATION_FORMAT``); ``''`` scans
            ``data_root/data_prefix['video']/<class>/*.mp4``.
        data_root, data_prefix: where the videos are (``dict(video='videos/')``).
        classes: class names in label order, or a text file of them (one a line); default: the
            sorted class names found.
        path_format: how a row's fields give the video path, e.g. ``'{label}/{youtube_id}.mp4'``.
        caption_file: offline captions (see ``CAPTION_FORMAT``), looked up by segment id, then
            video id.
        caption_id_key, caption_key: columns of ``caption_file`` when it is a table.
        caption_template: fallback caption; ``{class}`` is replaced by the class name in words.
        segments_file: clips of long videos (see ``SEGMENTS_FORMAT``); a video it does not name
            is used whole when ``keep_unsegmented``.
        pipeline, test_mode, ...: see ``BaseVideoDataset``.

    Data infos hold ``video_path``, ``video_id``, ``caption``, ``class_label``, ``class_name``,
    ``start``, ``end`` (``None`` for a whole video).
    """

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 classes: Union[None, str, Sequence[str]] = None,
                 path_format: str = '{path}',
                 caption_file: Optional[str] = None,
                 caption_id_key: str = 'id',
                 caption_key: str = 'caption',
                 caption_template: str = 'a video of a person {class}',
                 segments_file: Optional[str] = None,
                 keep_unsegmented: bool = True,
                 **kwargs):
        self.classes_arg = classes
        self.path_format = path_format
        self.caption_file = caption_file
        self.caption_id_key = caption_id_key
        self.caption_key = caption_key
        self.caption_template = caption_template
        self.segments_file = segments_file
        self.keep_unsegmented = keep_unsegmented
        self.class_names: List[str] = []
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix or dict(video=''), **kwargs)

    def _data_root_hint(self) -> str:
        return 'videos in one folder per class, or videos plus an annotation file'

    def _resolve(self, path: Optional[str]) -> Optional[str]:
        if path and not osp.isabs(path) and self.data_root:
            return osp.join(self.data_root, path)
        return path

    # --- reading ------------------------------------------------------------------------------
    def _scan_folders(self) -> List[dict]:
        root = require_dir(self.data_prefix['video'], 'action-recognition video folder',
                           'one sub-folder per class holding its videos (or set ann_file)')
        rows = []
        for class_name in sorted(os.listdir(root)):
            folder = osp.join(root, class_name)
            if not osp.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if name.lower().endswith(VIDEO_EXTENSIONS):
                    rows.append(dict(path=osp.join(class_name, name), label=class_name))
        if not rows:
            raise DataError(f'no videos ({", ".join(VIDEO_EXTENSIONS)}) found in the class '
                            f'folders of {root!r}')
        return rows

    def _class_list(self, labels: List) -> List[str]:
        if isinstance(self.classes_arg, str):
            path = require_file(self._resolve(self.classes_arg), 'class list file',
                                'one class name per line, in label order')
            with open(path, encoding='utf-8') as file:
                return [line.strip() for line in file if line.strip()]
        if self.classes_arg is not None:
            return list(self.classes_arg)
        names = {str(label) for label in labels if not _is_index(label)}
        if any(_is_index(label) for label in labels):
            raise InvalidValueError('integer labels need `classes` (names in label order)')
        return sorted(names)

    def _captions(self) -> Dict[str, str]:
        if not self.caption_file:
            return {}
        return read_mapping(self._resolve(self.caption_file), self.caption_id_key,
                            self.caption_key, 'caption file', CAPTION_FORMAT)

    def _segments(self) -> Dict[str, List[dict]]:
        if not self.segments_file:
            return {}
        segments: Dict[str, List[dict]] = {}
        path = self._resolve(self.segments_file)
        for row_no, row in enumerate(read_table(path, 'segments file', SEGMENTS_FORMAT), 1):
            if 'video_id' not in row or optional_float(row.get('start')) is None \
                    or optional_float(row.get('end')) is None:
                raise DataError(f'{path}: row {row_no} needs video_id, start and end ({row})')
            start, end = float(row['start']), float(row['end'])
            if end <= start:
                raise DataError(f'{path}: row {row_no} has end {end} <= start {start}')
            video_id = str(row['video_id'])
            clips = segments.setdefault(video_id, [])
            segment_id = row.get('segment_id') or f'{video_id}_{len(clips):03d}'
            clips.append(dict(start=start, end=end, segment_id=str(segment_id)))
        return segments

    def load_data_list(self):
        if self.ann_file:
            rows = read_table(self.ann_file, 'action-recognition annotation file',
                              ANNOTATION_FORMAT)
        else:
            rows = self._scan_folders()
        labels = [row.get('label') for row in rows]
        if any(label is None for label in labels):
            raise ValueError(f'{self.ann_file}: every row needs a "label"; expected '
                           f'{ANNOTATION_FORMAT}')
        self.class_names = self._class_list(labels)
        self._metainfo['classes'] = tuple(self.class_names)
        label_of = {name: i for i, name in enumerate(self.class_names)}
        captions, segments = self._captions(), self._segments()
        prefix = self.data_prefix.get('video', '')
        data_list, used_segments = [], set()
        for row_no, row in enumerate(rows, 1):
            label = row['label']
            if _is_index(label):
                class_label = int(label)
                if not 0 <= class_label < len(self.class_names):
                    raise DataError(f'row {row_no}: label {label} outside 0..'
                                    f'{len(self.class_names) - 1}')
            elif str(label) in label_of:
                class_label = label_of[str(label)]
            else:
                raise DataError(f'row {row_no}: class {label!r} is not in the class list')
            class_name = self.class_names[class_label]
            try:
                relative = self.path_format.format(**row)
            except KeyError as error:
                raise DataError(f'{self.ann_file}: row {row_no} has no column {error} needed by '
                               f'path_format {self.path_format!r}') from None
            video_id = str(row.get('video_id') or osp.splitext(osp.basename(relative))[0])
            base = dict(video_path=osp.join(prefix, relative) if prefix else relative,
                        video_id=video_id, class_label=class_label, class_name=class_name)
            fallback = captions.get(video_id) or self._template_caption(class_name)
            clips = segments.get(video_id)
            if clips:
                used_segments.add(video_id)
                for clip in clips:
                    data_list.append(dict(base, start=clip['start'], end=clip['end'],
                                          segment_id=clip['segment_id'],
                                          caption=captions.get(clip['segment_id']) or fallback))
            elif not segments or self.keep_unsegmented:
                data_list.append(dict(base, start=optional_float(row.get('start')),
                                      end=optional_float(row.get('end')), caption=fallback))
        unknown = set(segments) - used_segments
        if unknown:
            get_logger().warning(f'{type(self).__name__}: the segments file names '
                                 f'{len(unknown)} video id(s) not in the dataset, e.g. '
                                 f'{sorted(unknown)[:3]}; their segments are ignored')
        return data_list

    def _template_caption(self, class_name: str) -> str:
        words = humanize_class_name(class_name)
        return self.caption_template.format(**{'class': words, 'class_name': words})


def _is_index(label) -> bool:
    return isinstance(label, int) or (isinstance(label, str) and label.strip().isdigit())
