"""Reading any table (CSV / TSV / JSONL / JSON / parquet) and writing CSV / JSONL atomically."""
import csv
import io
import json
import os.path as osp
from typing import Dict, List, Sequence

from vidrd.datasets.annotations import read_table, require_file
from ..appendable_files import write_text_atomic


def read_any_table(path: str, what: str, expected: str = '') -> List[Dict]:
    """The rows of a table.

    Args:
        path (str): ``.parquet`` (read through pyarrow) or what
            :func:`vidrd.datasets.annotations.read_table` reads.
        what (str): what the file is, for messages.
        expected (str): what it should hold, for messages. Defaults to ``''``.

    Returns:
        List[Dict]: the rows as dicts.
    """
    if osp.splitext(path)[1].lower() == '.parquet':
        require_file(path, what, expected)
        import pyarrow.parquet as pq
        return pq.read_table(path).to_pylist()
    return read_table(path, what, expected)


def write_csv_atomic(path: str, rows: Sequence[dict], fields: Sequence[str]) -> str:
    """Write a CSV in one piece (:func:`~vidrd.data_tools.appendable_files.write_text_atomic`).

    Args:
        path (str): the file.
        rows (Sequence[dict]): the rows.
        fields (Sequence[str]): the columns, in order (the header).

    Returns:
        str: ``path``.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


def write_jsonl_atomic(path: str, rows: Sequence[dict]) -> str:
    """Write a JSONL file in one piece, one row a line (UTF-8, not ASCII-escaped).

    Args:
        path (str): the file.
        rows (Sequence[dict]): the rows.

    Returns:
        str: ``path``.
    """
    return write_text_atomic(path, ''.join(json.dumps(row, ensure_ascii=False) + '\n'
                                           for row in rows))


def find_column(columns, names: Sequence[str]):
    """The first of ``names`` among ``columns``, compared case-insensitively.

    Args:
        columns (Iterable): the table's columns.
        names (Sequence[str]): the names looked for, in order.

    Returns:
        str | None: the column as the table spells it, or None.
    """
    lower = {str(c).lower(): c for c in columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None
