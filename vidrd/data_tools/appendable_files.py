"""Files that grow line by line and survive a kill: the last line is complete or is dropped.

A writer appends whole lines and flushes them to disk (:func:`append_lines`); a resumed run
first cuts a partially written last line (:func:`drop_partial_last_line`), then reads what is
already done. Files written in one piece go through :func:`write_text_atomic`.
"""
import os
import os.path as osp
from typing import Iterable, List

from vidrd.datasets.annotations import read_jsonl
from vidrd.utils.io import atomic_write


def drop_partial_last_line(path: str) -> bool:
    """Truncate ``path`` after its last newline (a kill mid-write leaves a line without one).

    Returns whether anything was cut. A missing file is left alone.
    """
    if not osp.isfile(path):
        return False
    with open(path, 'rb+') as file:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        if size == 0:
            return False
        end, chunk = size, 4096
        while end > 0:  # find the last b'\n' reading backwards
            begin = max(0, end - chunk)
            file.seek(begin)
            data = file.read(end - begin)
            cut = data.rfind(b'\n')
            if cut >= 0:
                keep = begin + cut + 1
                break
            end = begin
        else:
            keep = 0
        if keep == size:
            return False
        file.truncate(keep)
        return True


def append_lines(path: str, lines: Iterable[str]) -> None:
    """Append ``lines`` (without newlines) to ``path`` and flush them to disk."""
    text = ''.join(line + '\n' for line in lines)
    if not text:
        return
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, 'a', encoding='utf-8') as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def read_jsonl_records(path: str) -> List[dict]:
    """The complete JSON lines of ``path`` (a missing file has none)."""
    if not osp.isfile(path):
        return []
    return read_jsonl(path, '; the file is not one this tool wrote, or was edited')


def write_text_atomic(path: str, text: str) -> str:
    """Write ``text`` to ``path`` in one piece (:func:`vidrd.utils.io.atomic_write`).

    Args:
        path (str): The file to write; missing folders are created.
        text (str): Its whole content, written as UTF-8 without newline translation.

    Returns:
        str: ``path``.
    """
    with atomic_write(path, 'w', newline='') as file:
        file.write(text)
    return path
