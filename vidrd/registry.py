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

#: what goes in each registry and the protocol a component keeps (the plugin guide's table,
#: generated by tools/docs/generate_pages.py, which refuses a registry missing here)
PURPOSES = dict(
    MODELS='models (`VidRD`, the VAE trainers), U-Nets, U-Net blocks, VAEs, text encoders and '
           'tokenizers, discriminators, losses, data preprocessors and long-video samplers. '
           '`nn.Module` / mmengine `BaseModel`; a U-Net keeps the timestep contract below; a '
           'sampler subclasses `vidrd.models.long_video.LongVideoSampler`',
    MODEL_WRAPPERS="wrappers for distributed training; mmengine's (`MMDistributedDataParallel`, "
                   '`MMSeparateDistributedDataParallel`) by name',
    TEMPORAL_LAYERS='temporal layers of the video U-Net (Temp-Conv, Temp-Attn, motion modules). '
                    'Built with `in_channels`; `forward(x (B*F, C, H, W), num_frames) -> (B*F, '
                    'C, H, W)` for the `temporal_conv` / `temporal_module` placements',
    DIFFUSION_SCHEDULERS='the training noise schedule (`noise_schedule`: `add_noise`, '
                         '`sample_timesteps`) and the sampling schedulers (`sampling_scheduler`: '
                         'DDIM, DPM-Solver++ 2M, UniPC; `set_timesteps`, `step`; a multistep '
                         'solver keeps a `state` that the samplers reset per clip and restart '
                         'for replaced frames); timesteps a scalar, (B,) or (B, F) (per frame: '
                         'DDIM only)',
    LONG_VIDEO_STRATEGIES='strategies of the clip-after-clip `ReuseAndDiffuseSampler` (FNR, PNS, '
                          'DSG, reconstruction guidance, baselines). Subclass '
                          '`vidrd.models.long_video.LongVideoStrategy`; hooks `check`, '
                          '`initial_noise`, `before_step`, `denoise`, `end_of_clip`',
    DATASETS="datasets; mmengine's `BaseDataset` (items through a `pipeline` of transforms)",
    DATA_SAMPLERS="samplers of dataset indices; mmengine's `DefaultSampler` / `InfiniteSampler` "
                  'by name',
    TRANSFORMS='data transforms: callables on a result dict (load, crop, normalise, pack)',
    METRICS="metrics; mmengine's `BaseMetric` (`process`, `compute_metrics`); networks through "
            '`FEATURE_EXTRACTORS`',
    EVALUATOR="evaluators; mmengine's `Evaluator` by name",
    FEATURE_EXTRACTORS='frozen evaluation networks of the metrics (I3D, C3D, InceptionV3, CLIP, '
                       'the shapes classifier). Subclass `vidrd.evaluation.feature_extractors.'
                       'VideoFeatureExtractor`: videos in, features (B, D) or (B, F, D) out',
    RUNNERS="runners (`runner_type`): mmengine's `Runner` / `FlexibleRunner` and subclasses",
    STRATEGIES="FlexibleRunner strategies (`strategy`); mmengine's `BaseStrategy`",
    HOOKS="training hooks; mmengine's `Hook`",
    LOOPS="training / validation / test loops; mmengine's `BaseLoop`",
    OPTIMIZERS="optimisers; torch's by name (mmengine registers them)",
    OPTIM_WRAPPERS="optimiser wrappers (`optim_wrapper.type`); mmengine's `OptimWrapper`",
    OPTIM_WRAPPER_CONSTRUCTORS="optimiser wrapper constructors (`optim_wrapper.constructor`); "
                               "mmengine's `DefaultOptimWrapperConstructor`",
    PARAM_SCHEDULERS="learning-rate and momentum schedulers; mmengine's by name",
    VISUALIZERS="visualizers; mmengine's `Visualizer`",
    VISBACKENDS="visualisation backends (`vis_backends`); mmengine's `BaseVisBackend`",
)

#: what ``python -m vidrd.registry`` lists: every registry above, in that order
ALL_REGISTRIES = {name.lower(): globals()[name] for name in PURPOSES}


def _main() -> None:
    """Print every vidrd registry and the names registered in it."""
    for title, registry in ALL_REGISTRIES.items():
        registry.import_from_location()
        names = sorted(registry.module_dict)
        print(f'{title} ({len(names)}):')
        for name in names:
            module = registry.module_dict[name]
            print(f'  {name:40s} {module.__module__}')

