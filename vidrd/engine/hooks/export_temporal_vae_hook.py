"""Write the fine-tuned VAE as a ``vae_finetuned/`` folder when training ends."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from vidrd.registry import HOOKS
from vidrd.utils.checkpoint import CheckpointMismatchError, load_into, load_state_dict
from vidrd.utils.io import atomic_folder
from vidrd.utils.logging import get_logger


def export_vae_atomically(model: nn.Module, folder: str, **export_kwargs) -> str:
    """``model.export(folder)`` so that ``folder`` never holds a half-written VAE.

    The VAE is written to a temporary sibling folder, which then replaces ``folder`` by renames
    in the same directory: a reader (or a run killed mid-export) sees the previous complete
    export or the new one, never a mix (between the two renames the folder is briefly absent).
    Returns ``folder``.
    """
    if is_model_wrapper(model):
        model = model.module
    if not callable(getattr(model, 'export', None)):
        raise TypeError(f'{type(model).__name__} has no export(folder); the VAE export needs a '
                        'model such as TemporalVAEFinetuner')
    folder = osp.abspath(folder)
    with atomic_folder(folder) as tmp:
        model.export(tmp, **export_kwargs)
    return folder


def export_vae_from_checkpoint(model: nn.Module, checkpoint: str, folder: str,
                               trust_pickle: bool = False) -> str:
    """Load a training checkpoint into ``model`` (built from the run's config) and export its
    VAE to ``folder`` (:func:`export_vae_atomically`).

    vidrd's checkpoints hold the trainable weights only (``TrainableCheckpointHook``); the frozen
    ones come from the config's paths, so every trainable parameter must be in the checkpoint.
    """
    state = load_state_dict(checkpoint, trust_pickle=trust_pickle,
                            hint='a checkpoint written by tools/train.py (work_dirs/...)')
    if isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    report = load_into(model, state, source=checkpoint, strict=False)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    lacking = sorted(trainable & set(report.missing))
    if lacking or report.unexpected or report.mismatched:
        raise CheckpointMismatchError(
            f'{checkpoint} does not fit the model of the config (trainable weights missing: '
            f'{lacking[:10]}{" ..." if len(lacking) > 10 else ""}):\n{report.describe()}')
    return export_vae_atomically(model, folder)


@HOOKS.register_module()
class ExportTemporalVAEHook(Hook):
    """Export the trained VAE in the release's ``vae_finetuned/`` layout (``config.json`` +
    ``diffusion_pytorch_model.safetensors``) under the work dir, after training and, with
    ``interval``, every ``interval`` iterations.

    The folder loads with ``AutoencoderKL.from_pretrained`` and plugs into a VidRD config with
    one line: ``vae=dict(type='PretrainedAutoencoderKL', folder='<work_dir>/vae_finetuned')``.

    Args:
        folder: output folder, relative to the work dir (or absolute).
        interval: also export every ``interval`` training iterations (0: at the end only).
        legacy_attention_names: write diffusers-0.14 attention names like the release, so the
            original VidRD code reads the folder too (vidrd reads both).
    """
    priority = 'LOW'

    def __init__(self, folder: str = 'vae_finetuned', interval: int = 0,
                 legacy_attention_names: bool = True):
        self.folder = folder
        self.interval = interval
        self.legacy_attention_names = legacy_attention_names
        self.last_export: Optional[str] = None

    def export(self, runner) -> None:
        if not is_main_process():
            return
        folder = osp.join(runner.work_dir, self.folder)
        export_vae_atomically(runner.model, folder,
                              legacy_attention_names=self.legacy_attention_names)
        self.last_export = folder
        get_logger().info(
            f'exported the VAE after iteration {runner.iter} to {folder}; use it with '
            f"vae=dict(type='PretrainedAutoencoderKL', folder={folder!r})")

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self.export(runner)

    def after_train(self, runner) -> None:
        # the last interval export, if it fell on the final iteration, already wrote these weights
        if self.interval and runner.iter % self.interval == 0 and self.last_export:
            return
        self.export(runner)
