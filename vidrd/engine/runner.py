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
        tmp_name = f'.{filename}.tmp-{os.getpid()}'
        try:
            super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
            os.replace(osp.join(out_dir, tmp_name), osp.join(out_dir, filename))
        finally:
            if osp.exists(osp.join(out_dir, tmp_name)):
                os.remove(osp.join(out_dir, tmp_name))
