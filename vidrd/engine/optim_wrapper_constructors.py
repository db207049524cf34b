"""One optimiser per parameter group of a GAN-style model (generator + discriminator)."""
import copy
import inspect
from typing import Dict, List, Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn

from vidrd.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from vidrd.utils.logging import get_logger
from vidrd.utils.errors import InvalidValueError

# options of an OptimWrapper that are dicts themselves (shared by every group when given once)
_SHARED_DICT_KEYS = ('clip_grad',)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GeneratorDiscriminatorOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one optimiser wrapper per parameter group.

    The model says which parameters each optimiser owns through ``parameters_to_optimize()``
    (``{'generator': [...], 'discriminator': [...]}``, e.g. :class:`TemporalVAEFinetuner`:
    the decoder's temporal layers and the patch discriminator); the config gives each group its
    own wrapper and optimiser::

        optim_wrapper = dict(
            constructor='GeneratorDiscriminatorOptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=4.5e-6, betas=(0.5, 0.9))),
            discriminator=dict(optimizer=dict(type='Adam', lr=4.5e-6, betas=(0.5, 0.9))))

    Keys next to the groups (``type``, ``dtype``, ``loss_scale``, ``clip_grad``,
    ``accumulative_counts``) are defaults for every group, which a group's own entry overrides.
    So ``tools/train.py --amp`` (which sets ``optim_wrapper.type`` / ``dtype``) switches both
    optimisers to mixed precision: bf16 ``AutocastOptimWrapper`` on the CPU, mmengine's
    ``AmpOptimWrapper`` on a GPU. Without any ``type`` a group gets a plain ``OptimWrapper``.

    A group named in the config that the model does not have (``discriminator=None`` in the
    model) is skipped with a log line; a group of the model without a config entry is an error.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg:
            raise InvalidValueError(
                f'{type(self).__name__} does not support paramwise_cfg ({paramwise_cfg}): its '
                'parameter groups come from the model\'s parameters_to_optimize(); set lr / '
                'weight_decay per group in optim_wrapper.generator / .discriminator instead')
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper must be a dict, got {type(optim_wrapper_cfg)}')
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        if 'optimizer' in cfg:
            raise InvalidValueError(
                'optim_wrapper.optimizer is ambiguous with one optimiser per group: give each '
                'group its own, e.g. optim_wrapper.generator.optimizer=dict(type=\'Adam\', ...)')
        self.group_cfgs: Dict[str, dict] = {
            name: dict(value) for name, value in cfg.items() if isinstance(value, dict)
            and 'optimizer' in value}
        self.shared_cfg = {k: v for k, v in cfg.items() if k not in self.group_cfgs}
        for key, value in self.shared_cfg.items():
            if isinstance(value, dict) and key not in _SHARED_DICT_KEYS:
                raise InvalidValueError(
                    f'optim_wrapper.{key} has no optimizer: a parameter group needs '
                    f'{key}=dict(optimizer=dict(type=..., lr=...), ...)')
        if not self.group_cfgs:
            raise InvalidValueError(
                f'optim_wrapper names no group with an optimizer (got keys {sorted(cfg)}); '
                'expected e.g. generator=dict(optimizer=dict(type=\'Adam\', lr=1e-4)) and '
                'discriminator=dict(optimizer=...)')

    def group_wrapper_cfg(self, name: str) -> dict:
        """The wrapper config of group ``name``: shared defaults, then the group's own keys."""
        out = copy.deepcopy(self.shared_cfg)
        out.update(copy.deepcopy(self.group_cfgs[name]))
        out.setdefault('type', 'OptimWrapper')
        return out

    @staticmethod
    def _build_optimizer(cfg: dict, params: List[nn.Parameter]):
        cfg = dict(cfg)
        optimizer_cls = cfg['type']
        if isinstance(optimizer_cls, str):
            optimizer_cls = OPTIMIZERS.get(optimizer_cls)
            if optimizer_cls is None:
                raise KeyError(f'optimizer type {cfg["type"]!r} is not registered (torch.optim '
                               'names such as Adam / AdamW are)')
        # Optimisers name their first argument params or model_params (ColossalAI's HybridAdam)
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        cfg[first_arg] = params
        return OPTIMIZERS.build(cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        module = model.module if is_model_wrapper(model) else model
        if not hasattr(module, 'parameters_to_optimize'):
            raise TypeError(
                f'{type(module).__name__} has no parameters_to_optimize(); '
                f'{type(self).__name__} needs a model that names its parameter groups, e.g. '
                'TemporalVAEFinetuner')
        groups = module.parameters_to_optimize()
        unconfigured = sorted(set(groups) - set(self.group_cfgs))
        if unconfigured:
            raise KeyError(
                f'the model optimises parameter groups {unconfigured} that optim_wrapper does '
                f'not configure (it has {sorted(self.group_cfgs)}); add e.g. '
                f'optim_wrapper.{unconfigured[0]}=dict(optimizer=dict(type=\'Adam\', lr=1e-4))')
        log = get_logger()
        wrappers = {}
        for name in self.group_cfgs:
            if name not in groups:
                log.info(f'optim_wrapper.{name}: the model has no {name!r} parameters '
                         f'(groups: {sorted(groups)}); no optimiser built for it')
                continue
            params = list(groups[name])
            if not params:
                raise InvalidValueError(
                    f'parameter group {name!r} of {type(module).__name__} is empty')
            cfg = self.group_wrapper_cfg(name)
            optimizer = self._build_optimizer(cfg.pop('optimizer'), params)
            wrappers[name] = OPTIM_WRAPPERS.build(cfg, default_args=dict(optimizer=optimizer))
            count = sum(p.numel() for p in params)
            log.info(f'optimiser {name!r}: {type(optimizer).__name__} over {len(params)} '
                     f'tensors ({count:,} parameters) in a {type(wrappers[name]).__name__}')
        return OptimWrapperDict(**wrappers)
