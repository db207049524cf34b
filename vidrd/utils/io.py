"""Files that appear whole or not at all: the one atomic writer of vidrd.

Every file vidrd writes in one piece (checkpoints, safetensors shards, configs, JSON tables,
statistics) goes through :func:`atomic_write`, every folder (an exported model) through
:func:`atomic_folder`. For a file: the content is written to a temporary file in
the target's folder, flushed to disk, and renamed over the target (atomic on POSIX). A reader,
or a run killed mid-write, sees the previous complete file or the new one, never a truncated
one, and no temporary file is left behind by an error.
"""
import os
import os.path as osp
import shutil
import stat
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator, Optional

_WRITE_MODES = ('w', 'wt', 'wb')


def _umask() -> int:
    """The process's umask, read without changing it where Linux exposes it."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting, then restored at once
    os.umask(mask)
    return mask


def _fsync_path(path: str) -> None:
    """Flush the file or folder ``path`` to disk (best effort: not every platform can)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: str, mode: str = 'wb', *, encoding: Optional[str] = None,
                 newline: Optional[str] = None) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the ``with`` block succeeds.

    The temporary file is created next to ``path`` (``tempfile.mkstemp`` in the same folder,
    so the final rename never crosses file systems) with the permissions a plain ``open``
    would give: those of the file it replaces, else ``0o666`` less the umask. On a normal
    exit of the block it is flushed, ``fsync``-ed and renamed over ``path`` (``os.replace``);
    on any exception (``KeyboardInterrupt`` included) it is removed and ``path`` is left as
    it was. Missing parent folders are created.

    A writer that takes a path instead of a handle (``safetensors``' ``save_file``,
    ``torch.save`` to a path) writes to ``file.name``, the temporary path, inside the block::

        with atomic_write('model.safetensors') as file:
            save_file(tensors, file.name)

    Args:
        path (str): The file to write.
        mode (str): ``'wb'`` (binary) or ``'w'`` / ``'wt'`` (text). Defaults to ``'wb'``.
        encoding (str, optional): Text encoding; ``'utf-8'`` when None in text mode.
            Defaults to None.
        newline (str, optional): ``open``'s newline translation in text mode. Defaults to
            None (``'\\n'`` becomes the platform's line separator).

    Yields:
        IO: The temporary file, opened in ``mode``; its ``name`` is the temporary path.

    Raises:
        ValueError: If ``mode`` is not a write mode listed above, or ``encoding`` /
            ``newline`` is given in binary mode.
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f'atomic_write: mode must be one of {_WRITE_MODES}, got {mode!r}')
    binary = 'b' in mode
    if binary and (encoding is not None or newline is not None):
        raise ValueError('atomic_write: encoding and newline apply to text mode only')
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        permissions = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:  # a new file
        permissions = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        os.close(fd)
        os.chmod(tmp, permissions)
        # opened by name (not the mkstemp descriptor) so that ``file.name`` is the path
        if binary:
            file = open(tmp, mode)
        else:
            file = open(tmp, mode, encoding=encoding or 'utf-8', newline=newline)
        with file:
            yield file
            closed_by_writer = file.closed  # e.g. a writer that closes what it is given
            if not closed_by_writer:
                file.flush()
                os.fsync(file.fileno())  # also syncs what a writer wrote to file.name
        if closed_by_writer:
            _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_path(folder)  # the rename itself


@contextmanager
def atomic_folder(path: str) -> Iterator[str]:
    """A new folder that replaces the folder ``path`` when the ``with`` block succeeds.

    The block creates and fills the yielded folder, a path inside a temporary sibling of
    ``path`` (same file system), exactly as it would create ``path`` itself. On success a
    previous ``path`` is renamed aside and the new folder renamed into place (between the two
    renames ``path`` is briefly absent), so a reader or a run killed mid-write sees the
    previous complete folder or the new one, never a mix. On any exception the new folder is
    removed and ``path`` is left as it was.

    Args:
        path (str): The folder to write.

    Yields:
        str: Where to write the folder (not created yet).
    """
    path = osp.abspath(os.fspath(path))
    parent, name = osp.split(path)
    os.makedirs(parent, exist_ok=True)
    holder = tempfile.mkdtemp(dir=parent, prefix=f'.{name}.', suffix='.tmp')
    try:
        new = osp.join(holder, name)
        yield new
        if osp.exists(path):
            os.replace(path, osp.join(holder, name + '.old'))
        os.replace(new, path)
    finally:
        shutil.rmtree(holder, ignore_errors=True)
    _fsync_path(parent)

__all__ = ['atomic_write', 'atomic_folder']
