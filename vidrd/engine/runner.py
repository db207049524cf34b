"""mmengine's Runner with atomic checkpoint writes."""
import os
import os.path as osp

from mmengine.runner import Runner

from vidrd.registry import RUNNERS


@RUNNERS.register_module()
class VidRDRunner(Runner):
    """A Runner whose checkpoints appear whole or not at all.

    mmengine writes a checkpoint straight to its final name, so a run killed mid-write leaves a
    truncated file that ``--resume`` then picks up. Here the file is written under a temporary
    name in the same folder and renamed (atomic on POSIX) once complete.
    """

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        tmp = osp.join(out_dir, f'.{filename}.tmp-{os.getpid()}')
        try:
            super().save_checkpoint(out_dir, osp.basename(tmp), *args, **kwargs)
            if osp.exists(tmp):  # only the main process writes
                os.replace(tmp, osp.join(out_dir, filename))
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
