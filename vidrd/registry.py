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
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

# --- models -----------------------------------------------------------------
MODELS = Registry('model', scope='vidrd', parent=MMENGINE_MODELS, locations=['vidrd.models'])
MODEL_WRAPPERS = Registry('model_wrapper', scope='vidrd', parent=MMENGINE_MODEL_WRAPPERS, locations=['vidrd.models'])
TEMPORAL_LAYERS = Registry(
    'temporal layer', scope='vidrd', locations=['vidrd.models.temporal'])
DIFFUSION_SCHEDULERS = Registry(
    'diffusion scheduler', scope='vidrd', locations=['vidrd.models.schedulers'])
LONG_VIDEO_STRATEGIES = Registry(
    'long-video strategy', scope='vidrd', locations=['vidrd.models.long_video'])

# --- data -------------------------------------------------------------------
DATASETS = Registry('dataset', scope='vidrd', parent=MMENGINE_DATASETS, locations=['vidrd.datasets'])
DATA_SAMPLERS = Registry('data sampler', scope='vidrd', parent=MMENGINE_DATA_SAMPLERS, locations=['vidrd.datasets'])
TRANSFORMS = Registry('transform', scope='vidrd', parent=MMENGINE_TRANSFORMS, locations=['vidrd.datasets.transforms'])

# --- evaluation -------------------------------------------------------------
METRICS = Registry('metric', scope='vidrd', parent=MMENGINE_METRICS, locations=['vidrd.evaluation'])
EVALUATOR = Registry('evaluator', scope='vidrd', parent=MMENGINE_EVALUATOR, locations=['vidrd.evaluation'])
FEATURE_EXTRACTORS = Registry(
    'feature extractor', scope='vidrd',
    locations=['vidrd.evaluation.feature_extractors'])

# --- training -----------------------------------------------------------------
RUNNERS = Registry('runner', scope='vidrd', parent=MMENGINE_RUNNERS, locations=['vidrd.engine'])
HOOKS = Registry('hook', scope='vidrd', parent=MMENGINE_HOOKS, locations=['vidrd.engine'])
LOOPS = Registry('loop', scope='vidrd', parent=MMENGINE_LOOPS, locations=['vidrd.engine'])
OPTIMIZERS = Registry('optimizer', scope='vidrd', parent=MMENGINE_OPTIMIZERS, locations=['vidrd.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', scope='vidrd', parent=MMENGINE_OPTIM_WRAPPERS, locations=['vidrd.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', scope='vidrd', parent=MMENGINE_PARAM_SCHEDULERS, locations=['vidrd.engine'])
VISUALIZERS = Registry('visualizer', scope='vidrd', parent=MMENGINE_VISUALIZERS, locations=['vidrd.engine'])
VISBACKENDS = Registry('vis_backend', scope='vidrd', parent=MMENGINE_VISBACKENDS, locations=['vidrd.engine'])

ALL_REGISTRIES = dict(
    models=MODELS, temporal_layers=TEMPORAL_LAYERS,
    diffusion_schedulers=DIFFUSION_SCHEDULERS, long_video_strategies=LONG_VIDEO_STRATEGIES,
    datasets=DATASETS, data_samplers=DATA_SAMPLERS, transforms=TRANSFORMS, metrics=METRICS,
    feature_extractors=FEATURE_EXTRACTORS, runners=RUNNERS, hooks=HOOKS, loops=LOOPS, visualizers=VISUALIZERS)


def _main() -> None:
    """Print every vidrd registry and the names registered in it."""
    for title, registry in ALL_REGISTRIES.items():
        registry.import_from_location()
        names = sorted(registry.module_dict)
        print(f'{title} ({len(names)}):')
        for name in names:
            module = registry.module_dict[name]
            print(f'  {name:40s} {module.__module__}')

