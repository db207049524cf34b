"""Kinetics-400/600/700 annotation CSVs (``label,youtube_id,time_start,time_end,split``) ->
``ActionRecognitionDataset``'s annotation (``path,label,video_id``), a segments file
(``video_id,start,end,segment_id``) and the class list.

Downloaders store each clip either trimmed to its 10 s (``{youtube_id}_{time_start:06d}_
{time_end:06d}.mp4``, the default ``path_format``; the segment is then the whole clip) or as the
full YouTube video (``trimmed=False``: the segment is ``[time_start, time_end]``).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional

from ..appendable_files import write_text_atomic
from ..segmenting import SEGMENT_FIELDS
from ..video_files import video_id_of
from .tables import read_any_table, write_csv_atomic
from vidrd.utils.errors import DataError

KINETICS_COLUMNS = ('label', 'youtube_id', 'time_start', 'time_end')
KINETICS_FORMAT = ('the CSV of the Kinetics release: label,youtube_id,time_start,time_end'
                   '[,split] (Kinetics-400/600/700)')
DEFAULT_PATH_FORMAT = '{label}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4'


@dataclass
class KineticsReport:
    """Totals of :func:`convert_kinetics`.

    Attributes:
        rows (int): rows read.
        written (int): rows written.
        other_split (int): rows of another split, dropped.
        missing_videos (List[str]): paths of rows dropped for a missing file.
        classes (List[str]): the class names written, sorted.
    """
    rows: int = 0
    written: int = 0
    other_split: int = 0
    missing_videos: List[str] = field(default_factory=list)
    classes: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """The totals in a line."""
        text = (f'{self.rows} rows: {self.written} written ({len(self.classes)} classes), '
                f'{self.other_split} of another split, {len(self.missing_videos)} without a '
                'video file')
        if self.missing_videos:
            text += f', e.g. {self.missing_videos[:3]}'
        return text


def convert_kinetics(csv_path: str, out_ann: str, out_segments: str,
                     path_format: str = DEFAULT_PATH_FORMAT, trimmed: bool = True,
                     split: Optional[str] = None, video_dir: Optional[str] = None,
                     out_classes: Optional[str] = None) -> KineticsReport:
    """Write the annotation, segments and (optionally) class list of a Kinetics CSV.

    Args:
        csv_path (str): the release's CSV (``.parquet`` too).
        out_ann (str): the annotation CSV to write (atomically), ``path,label,video_id``.
        out_segments (str): the segments CSV to write (atomically), ``SEGMENT_FIELDS``.
        path_format (str): a video's path relative to the video folder, from the row's fields
            (``label``, ``youtube_id``, ``time_start`` / ``time_end`` as integers, ``split``).
            Defaults to ``DEFAULT_PATH_FORMAT``.
        trimmed (bool): files hold the 10 s clip only (segment ``[0, end - start]``), else
            the full video (segment ``[time_start, time_end]``). Defaults to True.
        split (str, optional): keep the rows of this split only (``train``, ``validate``,
            ``test``). Defaults to None (every row).
        video_dir (str, optional): when given, rows whose file is not there are dropped and
            counted (every Kinetics download misses some videos). Defaults to None.
        out_classes (str, optional): text file of the class names, sorted, one a line (the
            dataset's ``classes``). Defaults to None (not written).

    Returns:
        KineticsReport: the totals.

    Raises:
        DataError: the CSV lacks a column, or a row does not fit ``path_format``.
    """
    rows = read_any_table(csv_path, 'Kinetics annotation CSV', KINETICS_FORMAT)
    report = KineticsReport(rows=len(rows))
    if rows:
        missing = [c for c in KINETICS_COLUMNS if c not in rows[0]]
        if missing:
            raise DataError(f'{csv_path}: no column(s) {missing} (has {sorted(rows[0])}); '
                            f'expected {KINETICS_FORMAT}. A test split without labels cannot '
                            'be converted.')
    annotation, segments = [], []
    for row_no, row in enumerate(rows, 1):
        if split is not None and str(row.get('split', split)) != split:
            report.other_split += 1
            continue
        try:
            fields = dict(row, time_start=int(float(row['time_start'])),
                          time_end=int(float(row['time_end'])))
            relative = path_format.format(**fields)
        except (KeyError, ValueError) as error:
            raise DataError(f'{csv_path}: row {row_no} does not fit path_format '
                            f'{path_format!r} ({type(error).__name__}: {error}; row {row})'
                            ) from None
        if video_dir is not None and not osp.isfile(osp.join(video_dir, relative)):
            report.missing_videos.append(relative)
            continue
        video_id = video_id_of(relative)
        length = fields['time_end'] - fields['time_start']
        if length <= 0:
            raise DataError(f'{csv_path}: row {row_no} has time_end <= time_start ({row})')
        start, end = (0, length) if trimmed else (fields['time_start'], fields['time_end'])
        annotation.append(dict(path=relative, label=row['label'], video_id=video_id))
        segments.append(dict(video_id=video_id, start=start, end=end,
                             segment_id=f'{video_id}_000'))
    report.written = len(annotation)
    report.classes = sorted({row['label'] for row in annotation})
    write_csv_atomic(out_ann, annotation, ('path', 'label', 'video_id'))
    write_csv_atomic(out_segments, segments, SEGMENT_FIELDS)
    if out_classes:
        write_text_atomic(out_classes, ''.join(name + '\n' for name in report.classes))
    return report
