"""Reading a diffusers ``scheduler_config.json`` (e.g. SD-2.1's ``scheduler/`` folder).

A file means what diffusers would read it to mean: a key the file leaves out takes diffusers'
default (``DDIMScheduler`` / ``DDPMScheduler``), not ours, and a key whose value we do not
implement (``thresholding: true``, ``timestep_spacing: "trailing"``, ...) is an error naming the
file, the key and the value, never silently a different schedule.
"""
import json
import os.path as osp
from typing import Any, Dict, Iterable, Mapping

from vidrd.utils.checkpoint import require_path
from vidrd.utils.logging import get_logger
from vidrd.utils.errors import DataError, InvalidValueError

SCHEDULER_CONFIG_NAME = 'scheduler_config.json'

#: diffusers' defaults (DDIMScheduler / DDPMScheduler) for keys a config file may omit.
DIFFUSERS_DEFAULTS: Dict[str, Any] = dict(
    num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule='linear',
    trained_betas=None, prediction_type='epsilon', clip_sample=True, clip_sample_range=1.0,
    set_alpha_to_one=True, steps_offset=0)

#: keys that change the arithmetic; only these values are implemented here.
SUPPORTED_VALUES: Dict[str, Any] = dict(
    thresholding=False, rescale_betas_zero_snr=False, timestep_spacing='leading')

_HINT = ("A diffusers pipeline folder keeps it in `scheduler/scheduler_config.json` (SD-2.1-base: "
         "the `scheduler/` folder of stabilityai/stable-diffusion-2-1-base).")


def read_scheduler_config(path: str, accepted: Iterable[str], owner: str,
                          overrides: Mapping[str, Any] = None,
                          supported: Mapping[str, Any] = SUPPORTED_VALUES,
                          defaults: Mapping[str, Any] = DIFFUSERS_DEFAULTS) -> Dict[str, Any]:
    """Constructor arguments of ``owner`` from a diffusers scheduler config.

    Args:
        path: the json file, or a folder holding ``scheduler_config.json``.
        accepted: argument names ``owner`` takes; other keys are ignored (and logged) unless
            they change the arithmetic (``supported``), which is an error.
        owner: class name for messages.
        overrides: arguments that replace the file's values (e.g. ``prediction_type``).
        supported: keys that change the arithmetic -> the only value ``owner`` implements
            (default: DDIM's, :data:`SUPPORTED_VALUES`).
        defaults: diffusers' defaults for accepted keys the file leaves out (default: its
            DDIM / DDPM schedulers', :data:`DIFFUSERS_DEFAULTS`).
    """
    require_path(path, 'scheduler config', _HINT)
    if osp.isdir(path):
        path = require_path(osp.join(path, SCHEDULER_CONFIG_NAME), 'scheduler config', _HINT)
    try:
        with open(path, encoding='utf-8') as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f'cannot read scheduler config {path!r}: {err}') from err
    if not isinstance(config, dict):
        raise DataError(f'scheduler config {path!r} must hold a JSON object, '
                        f'got {type(config).__name__}')

    accepted = set(accepted)
    overrides = dict(overrides or {})
    kwargs, ignored = {}, []
    for key, value in config.items():
        if key.startswith('_'):  # _class_name, _diffusers_version
            continue
        if key in supported and value != supported[key]:
            raise InvalidValueError(
                f'{path!r}: {key}={value!r} is not supported by {owner} (only '
                f'{supported[key]!r}); remove the key or use a config without it.')
        if key in accepted:
            kwargs[key] = value
        else:
            ignored.append(key)
    defaulted = sorted(k for k in accepted & set(defaults)
                       if k not in kwargs and k not in overrides)
    for key in defaulted:
        kwargs[key] = defaults[key]
    kwargs.update(overrides)

    logger = get_logger()
    logger.info(f'{owner}: read {path}' + (f'; overrides {overrides}' if overrides else ''))
    if defaulted:
        logger.info(f"{owner}: {path} does not set {defaulted}; "
                    f"using diffusers' defaults { {k: defaults[k] for k in defaulted} }")
    if ignored:
        logger.debug(f'{owner}: ignoring keys {sorted(ignored)} of {path}')
    return kwargs
