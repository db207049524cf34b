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
from typing import List, Optional, Tuple
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
    """Totals of :func:`convert_image_table`.

    Attributes:
        rows (int): rows read.
        written (int): entries written.
        dropped (Counter): rows dropped, by reason.
    """
    rows: int = 0
    written: int = 0
    dropped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """One line: ``'<rows> rows: <written> written, dropped: <count> <reason>, ...'``."""
        reasons = ', '.join(f'{count} {reason}' for reason, count in self.dropped.items())
        return f'{self.rows} rows: {self.written} written, dropped: {reasons or "none"}'


def _image_size(path: str) -> Tuple[int, int]:
    from PIL import Image
    with Image.open(path) as image:  # reads the header only
        return image.size


@dataclass
class ImageTablePlan:
    """What :func:`convert_image_table` does with a table, decided before any image is opened:
    :func:`plan_image_table` makes it, :func:`run_image_table_plan` carries it out.

    Attributes:
        table (str): the table's file.
        rows (List[dict]): its rows.
        image_dir (str): the folder the images' paths are relative to.
        caption_column (str, optional): the caption's column (``None``: the table is empty).
        path_column (str, optional): the image's path column (used without ``path_format``).
        path_format (str, optional): the image's path from a row's fields.
        url_column (str, optional): the url column ``{url_basename}`` is taken from.
        width_column (str, optional): the width column, if any.
        height_column (str, optional): the height column, if any.
        min_size (int): the shorter side's minimum in pixels (0: no filter).
        max_aspect_ratio (float, optional): ``max(w / h, h / w)``'s maximum.
        min_score (float, optional): the score's minimum.
        score_column (str, optional): the score's column (with ``min_score``).
    """
    table: str
    rows: List[dict]
    image_dir: str
    caption_column: Optional[str] = None
    path_column: Optional[str] = None
    path_format: Optional[str] = None
    url_column: Optional[str] = None
    width_column: Optional[str] = None
    height_column: Optional[str] = None
    min_size: int = 0
    max_aspect_ratio: Optional[float] = None
    min_score: Optional[float] = None
    score_column: Optional[str] = None

    @property
    def columns(self) -> List[str]:
        """The table's columns (those of its first row)."""
        return list(self.rows[0]) if self.rows else []


def plan_image_table(table: str, image_dir: str, path_format: Optional[str] = None,
                     caption_column: Optional[str] = None, min_size: int = 0,
                     max_aspect_ratio: Optional[float] = None,
                     min_score: Optional[float] = None,
                     score_column: Optional[str] = None) -> ImageTablePlan:
    """Read ``table`` and find the columns the conversion needs.

    Arguments as :func:`convert_image_table`.

    Args:
        table (str): a parquet / CSV / JSONL table (``IMAGE_TABLE_FORMAT``).
        image_dir (str): the folder the images' paths are relative to.
        path_format (str, optional): see :func:`convert_image_table`. Defaults to None.
        caption_column (str, optional): see :func:`convert_image_table`. Defaults to None.
        min_size (int): see :func:`convert_image_table`. Defaults to 0.
        max_aspect_ratio (float, optional): see :func:`convert_image_table`. Defaults to None.
        min_score (float, optional): see :func:`convert_image_table`. Defaults to None.
        score_column (str, optional): see :func:`convert_image_table`. Defaults to None.

    Returns:
        ImageTablePlan: the rows and the columns found.

    Raises:
        DataError: the table lacks a caption, path or score column it needs.
    """
    rows = read_any_table(table, 'image-text table', IMAGE_TABLE_FORMAT)
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
    return ImageTablePlan(
        table=table, rows=rows, image_dir=image_dir, caption_column=caption_column,
        path_column=path_column, path_format=path_format,
        url_column=find_column(columns, ('url',)), width_column=find_column(columns, ('width',)),
        height_column=find_column(columns, ('height',)), min_size=min_size,
        max_aspect_ratio=max_aspect_ratio, min_score=min_score, score_column=score_column)


def image_table_entry(plan: ImageTablePlan, row_no: int,
                      row: dict) -> Tuple[Optional[dict], Optional[str]]:
    """The dataset entry of one row, or why the row is dropped.

    Args:
        plan (ImageTablePlan): what :func:`plan_image_table` returned.
        row_no (int): the row's number (from 1), for messages.
        row (dict): the row.

    Returns:
        Tuple[Optional[dict], Optional[str]]: ``({'path': ..., 'caption': ...}, None)``, or
        ``(None, reason)`` (e.g. ``'without image file'``).

    Raises:
        DataError: the row does not fit ``path_format``.
    """
    table, columns, path_format = plan.table, plan.columns, plan.path_format
    min_size, max_aspect_ratio = plan.min_size, plan.max_aspect_ratio
    caption = row.get(plan.caption_column)
    if caption is None or not str(caption).strip():
        return None, 'without caption'
    if path_format is None:
        relative = str(row[plan.path_column])
    else:
        url = str(row.get(plan.url_column or '', '') or '')
        try:
            relative = path_format.format(**row, url_basename=osp.basename(urlparse(url).path))
        except (KeyError, ValueError) as error:
            raise DataError(f'{table}: row {row_no} does not fit path_format '
                            f'{path_format!r} ({error}; columns {columns})',
                            parameter='path_format') from None
    path = osp.join(plan.image_dir, relative)
    if not osp.isfile(path):
        return None, 'without image file'
    if plan.min_score is not None:
        score = row.get(plan.score_column)
        if score in (None, '') or float(score) < plan.min_score:
            return None, 'below min score'
    width = row.get(plan.width_column) if plan.width_column else None
    height = row.get(plan.height_column) if plan.height_column else None
    if (min_size or max_aspect_ratio) and (width in (None, '') or height in (None, '')):
        try:
            width, height = _image_size(path)
        except OSError:
            return None, 'unreadable image'
    if min_size or max_aspect_ratio:
        width, height = float(width), float(height)
        if min(width, height) < min_size:
            return None, 'smaller than min size'
        if max_aspect_ratio and max(width / height, height / width) > max_aspect_ratio:
            return None, 'beyond max aspect ratio'
    return dict(path=relative.replace(osp.sep, '/'), caption=str(caption).strip()), None


def run_image_table_plan(plan: ImageTablePlan, out: str) -> ImageTableReport:
    """Filter the rows of ``plan`` and write the kept ones to ``out``.

    Args:
        plan (ImageTablePlan): what :func:`plan_image_table` returned.
        out (str): the JSONL written (atomically), one ``{"path": ..., "caption": ...}`` a line.

    Returns:
        ImageTableReport: rows read, written and dropped (by reason).

    Raises:
        DataError: a row does not fit ``path_format``.
    """
    report = ImageTableReport(rows=len(plan.rows))
    written = []
    for row_no, row in enumerate(plan.rows, 1):
        entry, dropped = image_table_entry(plan, row_no, row)
        if entry is None:
            report.dropped[dropped] += 1
        else:
            written.append(entry)
    report.written = len(written)
    write_jsonl_atomic(out, written)
    return report


def convert_image_table(table: str, out: str, image_dir: str, path_format: Optional[str] = None,
                        caption_column: Optional[str] = None, min_size: int = 0,
                        max_aspect_ratio: Optional[float] = None,
                        min_score: Optional[float] = None,
                        score_column: Optional[str] = None) -> ImageTableReport:
    """Write ``out`` (JSONL, paths relative to ``image_dir``) from ``table``.

    :func:`plan_image_table`, then :func:`run_image_table_plan`.

    Args:
        table (str): a parquet / CSV / JSONL table (``IMAGE_TABLE_FORMAT``).
        out (str): the JSONL to write.
        image_dir (str): the folder the images' paths are relative to.
        path_format (str, optional): the image's path relative to ``image_dir`` from a row's
            fields, plus ``url_basename`` (the last part of the url's path). Defaults to None
            (the ``path`` column).
        caption_column (str, optional): the caption's column. Defaults to None (the first of
            ``caption`` / ``text``, any case).
        min_size (int): drop images whose shorter side is below this (pixels). Defaults to 0.
        max_aspect_ratio (float, optional): drop images with ``max(w / h, h / w)`` above this.
            Defaults to None.
        min_score (float, optional): drop rows scoring below this. Defaults to None.
        score_column (str, optional): the score's column. Defaults to None (the first of
            ``aesthetic`` / ``aesthetic_score`` / ``score``).

    Returns:
        ImageTableReport: rows read, written and dropped (by reason).

    Raises:
        DataError: the table lacks a column it needs, or a row does not fit ``path_format``.
    """
    plan = plan_image_table(table, image_dir, path_format=path_format,
                            caption_column=caption_column, min_size=min_size,
                            max_aspect_ratio=max_aspect_ratio, min_score=min_score,
                            score_column=score_column)
    return run_image_table_plan(plan, out)
