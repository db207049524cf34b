"""Registries of vidrd.

Every registry is a child of mmengine's root of the same kind (so mmengine's Runner finds our
components under ``default_scope='vidrd'``) or, for kinds mmengine does not have, a root of its
own in the ``vidrd`` scope. ``locations`` imports the subpackage on first lookup, so a config
builds without the user importing anything.

``python -m vidrd.registry`` lists what is registered.
"""
if __name__ == '__main__':  # `python -m vidrd.registry`: list from the package's own module,
    from vidrd.registry import _main  # not from a second copy of these registries

    _main()
    raise SystemExit(0)

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry


class DuplicateRegistrationError(KeyError):
    """A name registered twice in one registry (a ``KeyError``, as mmengine raises)."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


def _qualified_name(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


class VidrdRegistry(Registry):
    """mmengine's ``Registry`` whose duplicate-name error names both classes.

    Registering a name that exists raises :class:`DuplicateRegistrationError` naming the module
    path of the registered class and of the new one, and how to override on purpose
    (``register_module(force=True)``). Registering the very same object again is a no-op.

    A registration from outside vidrd (a plugin) first imports the registry's ``locations``, so
    vidrd's own classes are always registered before a plugin's: a plugin's ``force=True``
    override replaces vidrd's class whatever the import order, and a clash without it is
    reported when the plugin is imported, not later when vidrd's class is.
    """

    def _register_module(self, module, module_name=None, force: bool = False) -> None:
        package = getattr(module, '__module__', None) or ''
        if package != 'vidrd' and not package.startswith('vidrd.'):
            self.import_from_location()
        names = [module_name] if isinstance(module_name, str) else module_name
        for name in names or [getattr(module, '__name__', None)]:
            existing = self._module_dict.get(name)
            if existing is None or existing is module or force:
                continue
            variable = next((k for k, v in globals().items() if v is self), 'REGISTRY')
            raise DuplicateRegistrationError(
                f'{name!r} is already registered in vidrd\'s {self.name} registry ({variable}) '
                f'by {_qualified_name(existing)}; {_qualified_name(module)} registers the same '
                f'name. Rename one of them, or, if the new one is meant to replace the existing '
                f'one, register it with force=True: @{variable}.register_module(force=True).')
        super()._register_module(module, module_name, force=True)


# --- models -----------------------------------------------------------------
MODELS = VidrdRegistry('model', scope='vidrd', parent=MMENGINE_MODELS, locations=['vidrd.models'])
MODEL_WRAPPERS = VidrdRegistry('model_wrapper', scope='vidrd', parent=MMENGINE_MODEL_WRAPPERS, locations=['vidrd.models'])
TEMPORAL_LAYERS = VidrdRegistry(
    'temporal layer', scope='vidrd', locations=['vidrd.models.temporal'])
DIFFUSION_SCHEDULERS = VidrdRegistry(
    'diffusion scheduler', scope='vidrd', locations=['vidrd.models.schedulers'])
LONG_VIDEO_STRATEGIES = VidrdRegistry(
    'long-video strategy', scope='vidrd', locations=['vidrd.models.long_video'])

# --- data -------------------------------------------------------------------
DATASETS = VidrdRegistry('dataset', scope='vidrd', parent=MMENGINE_DATASETS,
                         locations=['vidrd.datasets', 'vidrd.evaluation'])
DATA_SAMPLERS = VidrdRegistry('data sampler', scope='vidrd', parent=MMENGINE_DATA_SAMPLERS, locations=['vidrd.datasets'])
TRANSFORMS = VidrdRegistry('transform', scope='vidrd', parent=MMENGINE_TRANSFORMS, locations=['vidrd.datasets.transforms'])

# --- evaluation -------------------------------------------------------------
METRICS = VidrdRegistry('metric', scope='vidrd', parent=MMENGINE_METRICS, locations=['vidrd.evaluation'])
EVALUATOR = VidrdRegistry('evaluator', scope='vidrd', parent=MMENGINE_EVALUATOR, locations=['vidrd.evaluation'])
FEATURE_EXTRACTORS = VidrdRegistry(
    'feature extractor', scope='vidrd',
    locations=['vidrd.evaluation.feature_extractors'])

# --- training -----------------------------------------------------------------
RUNNERS = VidrdRegistry('runner', scope='vidrd', parent=MMENGINE_RUNNERS, locations=['vidrd.engine'])
STRATEGIES = VidrdRegistry('strategy', scope='vidrd', parent=MMENGINE_STRATEGIES, locations=['vidrd.engine'])
HOOKS = VidrdRegistry('hook', scope='vidrd', parent=MMENGINE_HOOKS, locations=['vidrd.engine'])
LOOPS = VidrdRegistry('loop', scope='vidrd', parent=MMENGINE_LOOPS, locations=['vidrd.engine'])
OPTIMIZERS = VidrdRegistry('optimizer', scope='vidrd', parent=MMENGINE_OPTIMIZERS, locations=['vidrd.engine'])
OPTIM_WRAPPERS = VidrdRegistry('optim_wrapper', scope='vidrd', parent=MMENGINE_OPTIM_WRAPPERS, locations=['vidrd.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = VidrdRegistry('optimizer wrapper constructor', scope='vidrd', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, locations=['vidrd.engine'])
PARAM_SCHEDULERS = VidrdRegistry('parameter scheduler', scope='vidrd', parent=MMENGINE_PARAM_SCHEDULERS, locations=['vidrd.engine'])
VISUALIZERS = VidrdRegistry('visualizer', scope='vidrd', parent=MMENGINE_VISUALIZERS, locations=['vidrd.engine'])
VISBACKENDS = VidrdRegistry('vis_backend', scope='vidrd', parent=MMENGINE_VISBACKENDS, locations=['vidrd.engine'])

ALL_REGISTRIES = dict(
    models=MODELS, temporal_layers=TEMPORAL_LAYERS,
    diffusion_schedulers=DIFFUSION_SCHEDULERS, long_video_strategies=LONG_VIDEO_STRATEGIES,
    datasets=DATASETS, data_samplers=DATA_SAMPLERS, transforms=TRANSFORMS, metrics=METRICS,
    feature_extractors=FEATURE_EXTRACTORS, runners=RUNNERS, strategies=STRATEGIES, hooks=HOOKS, loops=LOOPS, visualizers=VISUALIZERS)


def _main() -> None:
    """Print every vidrd registry and the names registered in it."""
    for title, registry in ALL_REGISTRIES.items():
        registry.import_from_location()
        names = sorted(registry.module_dict)
        print(f'{title} ({len(names)}):')
        for name in names:
            module = registry.module_dict[name]
            print(f'  {name:40s} {module.__module__}')

