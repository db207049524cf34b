"""PyTorch's FSDP2 (``torch.distributed.fsdp.fully_shard``) as an mmengine strategy."""
from typing import Callable, Optional, Sequence

import torch
import torch.distributed as dist
from mmengine._strategy import DDPStrategy
from mmengine.device import get_device
from mmengine.dist import is_distributed
from torch import nn

from vidrd.registry import STRATEGIES
from vidrd.utils.distributed import init_cpu_process_group
from vidrd.utils.errors import InvalidValueError


@STRATEGIES.register_module()
class FSDP2Strategy(DDPStrategy):
    """Fully sharded data parallel training with FSDP2 for ``FlexibleRunner``.

    mmengine 0.10.7's ``FSDPStrategy`` wraps FSDP1, which refuses the CPU; FSDP2 shards on any
    device (gloo on the CPU). Every module whose name is in ``shard_modules`` (default: each
    down / mid / up block of the U-Net, with its temporal layers) becomes one FSDP unit, then
    the whole model (the rest of the U-Net, VAE, text encoder) another: a block's parameters are
    gathered just before it runs and freed after, gradients are reduce-scattered, and the
    optimiser holds only this rank's shard. Frozen parameters are sharded too.

    Checkpoints hold full, unsharded tensors (``torch.distributed.checkpoint.state_dict``): the
    trainable parameters (frozen ones are not gathered; ``TrainableCheckpointHook`` keeps the
    file to that subset) and the optimiser state keyed by parameter name; rank 0 writes the file
    atomically. Full tensors do not depend on the world size (tested: 2 ranks save and resume).

    Args:
        shard_modules: names (``named_modules``) of the FSDP units; ``*`` matches one name
            component.
        reshard_after_forward: free gathered parameters after each unit's forward (ZeRO-3);
            ``False`` keeps them until backward (ZeRO-2-like, more memory, less communication).
        mixed_precision: ``dict(param_dtype=..., reduce_dtype=...)`` for FSDP2's
            ``MixedPrecisionPolicy`` (dtype names as strings).
    """

    def __init__(self, *, shard_modules: Sequence[str] = (
            'unet.down_blocks.*', 'unet.mid_block', 'unet.up_blocks.*'),
            reshard_after_forward: bool = True, mixed_precision: Optional[dict] = None,
            **kwargs):
        super().__init__(**kwargs)
        self.shard_modules = tuple(shard_modules)
        self.reshard_after_forward = reshard_after_forward
        self.mixed_precision = mixed_precision

    def _setup_env(self, *, tune_cpu_allocator: bool = True, **kwargs) -> None:
        """mmengine's environment set-up, after tuning the C allocator as ``VidRDRunner`` does.

        Args:
            tune_cpu_allocator (bool): Apply
                :func:`vidrd.utils.cpu_allocator.tune_cpu_allocator` (the runner's
                ``env_cfg`` key). Defaults to True.
            **kwargs: mmengine's ``env_cfg`` entries (``dist_cfg``, ``mp_cfg``, ...).
        """
        if tune_cpu_allocator:
            from vidrd.utils.cpu_allocator import tune_cpu_allocator as tune
            tune()
        super()._setup_env(**kwargs)

    def _setup_distributed(self, launcher: str = 'pytorch', backend: str = 'nccl', **kwargs):
        # mmengine's init_dist calls torch.cuda.set_device, which fails on a CPU-only machine
        if is_distributed():
            return
        if not init_cpu_process_group():
            super()._setup_distributed(launcher, backend, **kwargs)

    def _units(self, model: nn.Module):
        from fnmatch import fnmatchcase
        # '*' stands for one name component: 'unet.down_blocks.*' is each block, not its parts
        return [module for name, module in model.named_modules()
                if name and any(fnmatchcase(name, pattern) and name.count('.') == pattern.count('.')
                                for pattern in self.shard_modules)]

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
        from torch.distributed.device_mesh import init_device_mesh
        device = get_device()
        model = model.to(device)
        mesh = init_device_mesh('cuda' if device == 'cuda' else 'cpu', (dist.get_world_size(),))
        kwargs = dict(mesh=mesh, reshard_after_forward=self.reshard_after_forward)
        if self.mixed_precision:
            kwargs['mp_policy'] = MixedPrecisionPolicy(**{
                k: getattr(torch, v) if isinstance(v, str) else v
                for k, v in self.mixed_precision.items()})
        # as DDP does: every rank starts from rank 0's weights (FSDP2 shards each rank's own)
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0)
        units = self._units(model)
        if not units:
            raise InvalidValueError(f'FSDP2Strategy: no module of {type(model).__name__} matches '
                                    f'shard_modules={self.shard_modules}')
        for module in units:
            fully_shard(module, **kwargs)
        fully_shard(model, **kwargs)
        self.logger.info(f'FSDP2: {len(units)} units + the root over {dist.get_world_size()} '
                         f'ranks on {device}')
        return model

    # ------------------------------------------------------------ full (unsharded) state
    def _options(self, **kwargs):
        from torch.distributed.checkpoint.state_dict import StateDictOptions
        return StateDictOptions(full_state_dict=True, cpu_offload=True, **kwargs)

    def model_state_dict(self) -> dict:
        """Full tensors of the trainable parameters (a collective: every rank calls it)."""
        from torch.distributed.checkpoint.state_dict import get_model_state_dict
        return get_model_state_dict(self.model, options=self._options(ignore_frozen_params=True))

    def optim_state_dict(self) -> dict:
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict
        return get_optimizer_state_dict(self.model, self.optim_wrapper.optimizer,
                                        options=self._options())

    def load_model_state_dict(self, state_dict: dict, *, strict: bool = False,
                              revise_keys: list = [(r'^module.', '')]) -> None:
        from torch.distributed.checkpoint.state_dict import set_model_state_dict
        from torch.distributed.tensor import DTensor
        # entries that are already this model's shards (filled in by hooks) need no loading
        state = {k: v for k, v in state_dict.items() if not isinstance(v, DTensor)}
        set_model_state_dict(self.model, state, options=self._options(strict=strict))

    def load_optim_state_dict(self, state_dict: dict) -> None:
        from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict
        optimizer = self.optim_wrapper.optimizer
        if not state_dict.get('state'):  # a stateless optimiser (plain SGD): hyperparameters only
            for group, saved in zip(optimizer.param_groups, state_dict['param_groups']):
                group.update({k: v for k, v in saved.items() if k != 'params'})
            return
        set_optimizer_state_dict(self.model, self.optim_wrapper.optimizer, state_dict,
                                 options=self._options())

    def save_checkpoint(self, filename: str, *, save_optimizer: bool = True,
                        save_param_scheduler: bool = True, extra_ckpt: Optional[dict] = None,
                        callback: Optional[Callable] = None) -> None:
        """Every rank gathers; rank 0 writes ``filename`` atomically, streamed to disk.

        Args:
            filename (str): The checkpoint file.
            save_optimizer (bool): Include the optimiser state. Defaults to True.
            save_param_scheduler (bool): Include the parameter schedulers. Defaults to True.
            extra_ckpt (dict, optional): Further entries (``meta`` is merged). Defaults to None.
            callback (Callable, optional): Called with the checkpoint on rank 0 before it is
                written (the runner's ``before_save_checkpoint`` hooks). Defaults to None.
        """
        import time

        import mmengine
        from vidrd.engine.runner import save_checkpoint_to_file
        checkpoint = dict(state_dict=self.model_state_dict())
        if save_optimizer and hasattr(self, 'optim_wrapper'):
            checkpoint['optimizer'] = self.optim_state_dict()
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        extra_ckpt = dict(extra_ckpt or {})
        extra_ckpt.setdefault('meta', {}).update(
            seed=self.seed, time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine=mmengine.__version__)
        checkpoint.update(extra_ckpt)
        if dist.get_rank() == 0:
            if callback is not None:
                callback(checkpoint)
            save_checkpoint_to_file(checkpoint, filename)  # atomic
        dist.barrier()
