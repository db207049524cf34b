"""LAION-style image-text tables (parquet / CSV / JSONL with a caption, a local ``path`` or a
``url`` / ``key`` to find the downloaded file, optionally ``width``, ``height`` and an aesthetic
score) -> ``ImageTextDataset``'s JSONL (``{"path": ..., "caption": ...}``), keeping the images
that exist and pass the size, aspect-ratio and score filters.

Columns are found case-insensitively (LAION writes ``TEXT``, ``WIDTH``, ``HEIGHT``,
``AESTHETIC_SCORE``; img2dataset ``caption``, ``key``, ``width``, ``height``). Sizes missing from
the table are read from the image header.
"""
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlparse

from .tables import find_column, read_any_table, write_jsonl_atomic
from vidrd.utils.errors import DataError

CAPTION_COLUMNS = ('caption', 'text')
SCORE_COLUMNS = ('aesthetic', 'aesthetic_score', 'score')
IMAGE_TABLE_FORMAT = ('a parquet / CSV / JSONL table with a caption column (caption / TEXT) and '
                      'a path column, or fields for --path-format (e.g. img2dataset: '
                      "'{key}.jpg', or '{url_basename}'); optionally width, height and an "
                      'aesthetic score')


@dataclass
class ImageTableReport:
    rows: int = 0
    written: int = 0
    dropped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        reasons = ', '.join(f'{count} {reason}' for reason, count in self.dropped.items())
        return f'{self.rows} rows: {self.written} written, dropped: {reasons or "none"}'


def _image_size(path: str):
    from PIL import Image
    with Image.open(path) as image:  # reads the header only
        return image.size


def convert_image_table(table: str, out: str, image_dir: str, path_format: Optional[str] = None,
                        caption_column: Optional[str] = None, min_size: int = 0,
                        max_aspect_ratio: Optional[float] = None,
                        min_score: Optional[float] = None,
                        score_column: Optional[str] = None) -> ImageTableReport:
    """Write ``out`` (JSONL, paths relative to ``image_dir``) from ``table``.

    Args:
        path_format: the image's path relative to ``image_dir`` from a row's fields, plus
            ``url_basename`` (the last part of the url's path); default the ``path`` column.
        caption_column: default the first of ``caption`` / ``text`` (any case).
        min_size: drop images whose shorter side is below this (pixels).
        max_aspect_ratio: drop images with ``max(w / h, h / w)`` above this.
        min_score, score_column: drop rows scoring below ``min_score`` (default column: the
            first of ``aesthetic`` / ``aesthetic_score`` / ``score``).
    """
    rows = read_any_table(table, 'image-text table', IMAGE_TABLE_FORMAT)
    report = ImageTableReport(rows=len(rows))
    columns = list(rows[0]) if rows else []
    caption_column = caption_column or find_column(columns, CAPTION_COLUMNS)
    if rows and (caption_column is None or caption_column not in columns):
        raise DataError(f'{table}: no caption column (looked for '
                        f'{caption_column or CAPTION_COLUMNS}; columns: {columns}); pass '
                        'caption_column', parameter='caption_column')
    path_column = find_column(columns, ('path',))
    if rows and path_format is None and path_column is None:
        raise DataError(f'{table}: no "path" column (columns: {columns}); pass path_format '
                        "to name the downloaded files, e.g. '{key}.jpg' (img2dataset) or "
                        "'{url_basename}'", parameter='path_format')
    if min_score is not None:
        score_column = score_column or find_column(columns, SCORE_COLUMNS)
        if rows and (score_column is None or score_column not in columns):
            raise DataError(f'{table}: min_score needs a score column (looked for '
                            f'{score_column or SCORE_COLUMNS}; columns: {columns})',
                            parameter='min_score')
    width_column, height_column = find_column(columns, ('width',)), find_column(columns,
                                                                                 ('height',))
    written = []
    for row_no, row in enumerate(rows, 1):
        caption = row.get(caption_column)
        if caption is None or not str(caption).strip():
            report.dropped['without caption'] += 1
            continue
        if path_format is None:
            relative = str(row[path_column])
        else:
            url = str(row.get(find_column(columns, ('url',)) or '', '') or '')
            try:
                relative = path_format.format(**row, url_basename=osp.basename(urlparse(url).path))
            except (KeyError, ValueError) as error:
                raise DataError(f'{table}: row {row_no} does not fit path_format '
                                f'{path_format!r} ({error}; columns {columns})',
                                parameter='path_format') from None
        path = osp.join(image_dir, relative)
        if not osp.isfile(path):
            report.dropped['without image file'] += 1
            continue
        if min_score is not None:
            score = row.get(score_column)
            if score in (None, '') or float(score) < min_score:
                report.dropped['below min score'] += 1
                continue
        width = row.get(width_column) if width_column else None
        height = row.get(height_column) if height_column else None
        if (min_size or max_aspect_ratio) and (width in (None, '') or height in (None, '')):
            try:
                width, height = _image_size(path)
            except OSError:
                report.dropped['unreadable image'] += 1
                continue
        if min_size or max_aspect_ratio:
            width, height = float(width), float(height)
            if min(width, height) < min_size:
                report.dropped['smaller than min size'] += 1
                continue
            if max_aspect_ratio and max(width / height, height / width) > max_aspect_ratio:
                report.dropped['beyond max aspect ratio'] += 1
                continue
        written.append(dict(path=relative.replace(osp.sep, '/'), caption=str(caption).strip()))
    report.written = len(written)
    write_jsonl_atomic(out, written)
    return report
