"""mmengine's Runner with atomic checkpoint writes and clear errors for unreadable checkpoints."""
import os
import os.path as osp

from mmengine.runner import Runner

from vidrd.registry import RUNNERS
from vidrd.utils.checkpoint import checkpoint_format, require_path
from vidrd.utils.cli import NotACheckpointError


def check_checkpoint_file(filename: str) -> None:
    """Stop before mmengine's ``torch.load`` on a missing file or one that is no checkpoint
    (torch reports a text file as ``KeyError: 101``)."""
    if '://' in str(filename):  # a URL / remote backend: mmengine's business
        return
    require_path(filename, 'checkpoint')
    if osp.isdir(filename) or checkpoint_format(filename) is None:
        raise NotACheckpointError(f'{filename!r} is not a checkpoint; give a .pth written by '
                                  'tools/train.py')


@RUNNERS.register_module()
class VidRDRunner(Runner):
    """A Runner whose checkpoints appear whole or not at all.

    mmengine writes a checkpoint straight to its final name, so a run killed mid-write leaves a
    truncated file that ``--resume`` then picks up. Here the file is written under a temporary
    name in the same folder and renamed (atomic on POSIX) once complete. A ``load_from`` /
    ``--resume`` path that is missing or not a checkpoint is reported as such.
    """

    def load_checkpoint(self, filename: str, *args, **kwargs):
        check_checkpoint_file(filename)
        return super().load_checkpoint(filename, *args, **kwargs)

    def resume(self, filename: str, *args, **kwargs) -> None:
        check_checkpoint_file(filename)
        return super().resume(filename, *args, **kwargs)

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        tmp = osp.join(out_dir, f'.{filename}.tmp-{os.getpid()}')
        try:
            super().save_checkpoint(out_dir, osp.basename(tmp), *args, **kwargs)
            if osp.exists(tmp):  # only the main process writes
                os.replace(tmp, osp.join(out_dir, filename))
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
