"""Annotation tables (CSV / TSV / JSONL / JSON) and checks that data paths exist.

Every dataset reads its annotation files through :func:`read_table`, which returns one dict per
row, and checks its folders with :func:`require_dir` / :func:`require_file`, whose errors name the
path and say what should be there.
"""
import csv
import json
import os.path as osp
from typing import Dict, List, Optional
from vidrd.utils.errors import DataError, InvalidValueError


class DataNotFoundError(FileNotFoundError):
    """An annotation file, split file or data folder a config names does not exist."""


def require_file(path: str, what: str, expected: str = '') -> str:
    """Return ``path`` if it is a file, else raise naming it, what it is and what it should hold."""
    if not path or not osp.isfile(path):
        msg = f'{what} not found: {path!r}.'
        if expected:
            msg += f' Expected there: {expected}'
        raise DataNotFoundError(msg)
    return path


def require_dir(path: str, what: str, expected: str = '') -> str:
    """Return ``path`` if it is a folder, else raise naming it and what it should hold."""
    if not path or not osp.isdir(path):
        msg = f'{what} not found: {path!r}.'
        if expected:
            msg += f' Expected there: {expected}'
        raise DataNotFoundError(msg)
    return path


def read_table(path: str, what: str = 'annotation file', expected: str = '') -> List[Dict]:
    """Rows of a ``.csv`` / ``.tsv`` (with a header line), ``.jsonl`` or ``.json`` (a list of
    objects, or an object of id -> object) file, as dicts.

    CSV values are strings; JSON values keep their types. Blank lines are skipped.
    """
    require_file(path, what, expected)
    ext = osp.splitext(path)[1].lower()
    if ext in ('.csv', '.tsv'):
        with open(path, newline='', encoding='utf-8') as file:
            reader = csv.DictReader(file, delimiter='\t' if ext == '.tsv' else ',')
            if reader.fieldnames is None:
                return []
            reader.fieldnames = [name.strip() for name in reader.fieldnames]
            return [{k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
                    for row in reader if any((v or '').strip() for v in row.values()
                                             if isinstance(v, str))]
    if ext == '.jsonl':
        return read_jsonl(path)
    if ext == '.json':
        with open(path, encoding='utf-8') as file:
            data = json.load(file)
        if isinstance(data, dict):
            return [dict(value, id=key) if isinstance(value, dict) else dict(id=key, value=value)
                    for key, value in data.items()]
        return list(data)
    raise InvalidValueError(f'{what} {path!r} has an unknown extension {ext!r}: use .csv, .tsv, '
                            '.jsonl or .json')


def read_jsonl(path: str, hint: str = '') -> List[Dict]:
    """The JSON objects of a ``.jsonl`` file, one per non-blank line; a bad line raises
    ``ValueError`` naming the file, the line and ``hint``."""
    rows = []
    with open(path, encoding='utf-8') as file:
        for line_no, line in enumerate(file, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise DataError(f'{path}:{line_no}: not a JSON object ({error}){hint}'
                                ) from error
    return rows


def read_mapping(path: str, key_field: str, value_field: str, what: str,
                 expected: str = '') -> Dict[str, str]:
    """A ``key -> value`` mapping from a JSON object file (``{"key": "value", ...}``) or a table
    with columns ``key_field`` and ``value_field``."""
    require_file(path, what, expected)
    if osp.splitext(path)[1].lower() == '.json':
        with open(path, encoding='utf-8') as file:
            data = json.load(file)
        if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
            return {str(k): v for k, v in data.items()}
    rows = read_table(path, what, expected)
    mapping = {}
    for row in rows:
        if key_field not in row or value_field not in row:
            raise DataError(f'{what} {path!r}: a row lacks the column {key_field!r} or '
                           f'{value_field!r} (row: {row})')
        mapping[str(row[key_field])] = str(row[value_field])
    return mapping


def optional_float(value) -> Optional[float]:
    """``None`` for missing / empty cells, else ``float(value)``."""
    if value is None or (isinstance(value, str) and value.strip() == ''):
        return None
    return float(value)
