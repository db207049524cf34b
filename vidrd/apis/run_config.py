"""From command-line arguments to a ready mmengine Runner (the logic behind tools/*.py)."""
import os
import os.path as osp
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)

from vidrd.apis.config_files import (FILES_PAGE, PATH_KEYS, RELATIVE_TO_DATA_ROOT,  # noqa: F401
                                      config_paths, file_source_entry, shipped_config)
from vidrd.utils.distributed import init_cpu_process_group
from vidrd.utils.precision import (AUTO, is_auto, precision_names, resolve_autocast, short_name,
                                   torch_name)
from vidrd.utils.errors import InputNotFoundError, InvalidValueError

MISSING_HINT = (f'Put the files there ({FILES_PAGE} lists the files of every shipped config and '
                'where they come from), or point the config at your copies with --cfg-options')


def missing_paths(cfg: Config, sections=('model', 'train_dataloader', 'val_dataloader',
                                         'test_dataloader', 'test_evaluator', 'val_evaluator')
                  ) -> List[Tuple[str, str]]:
    """(config key, path) of every file or folder the config names that does not exist.

    ``ann_file`` and friends are checked relative to their dataset's ``data_root``
    (:func:`vidrd.apis.config_files.config_paths` walks the config).
    """
    return [(key, path) for key, path in config_paths(cfg, sections) if not osp.exists(path)]


def check_paths(cfg: Config, sections=None) -> None:
    """Stop at once, naming every missing weights / data path, where it comes from and what to
    do about it."""
    missing = missing_paths(cfg, sections) if sections else missing_paths(cfg)
    if missing:
        lines = [f'  {key} = {path!r}' for key, path in missing]
        sources = []  # once per folder, however many of its files are missing
        for _, path in missing:
            entry = file_source_entry(path)
            if entry and entry not in sources:
                sources.append(entry)
        if sources:
            lines.append('where they come from:')
            lines += [f'  {prefix}: {source}' for prefix, source in sources]
        raise FileNotFoundError(f'{cfg.filename}: these files or folders do not exist:\n'
                                + '\n'.join(lines) + f'\n{MISSING_HINT}, e.g. --cfg-options '
                                f'{missing[0][0]}=/path/to/your/copy')


def strategy_config(name: str, configs_dir: Optional[str] = None) -> str:
    """Path of a strategy config: a file, or a name in ``configs/_base_/strategies``.

    Args:
        name (str): a config file, or the name of a shipped strategy (``fsdp2``, ...).
        configs_dir (str, optional): the configs folder the names are looked up in
            (:func:`vidrd.apis.config_files.find_configs_dir`). Defaults to None (the shipped
            configs: the checkout's, or a wheel install's copy).

    Returns:
        str: the path of the strategy config.
    """
    if osp.isfile(name):
        return name
    folder = shipped_config('_base_', 'strategies', configs_dir=configs_dir)
    path = osp.join(folder, f'{name}.py')
    if not osp.isfile(path):
        known = sorted(osp.splitext(f)[0] for f in os.listdir(folder)) \
            if osp.isdir(folder) else []
        raise InputNotFoundError(f'strategy {name!r}: no such file, and not one of '
                                 f'{", ".join(known)} ({folder})', parameter='strategy')
    return path


def _use_latent_cache(cfg: Config) -> None:
    """``latent_cache = DIR`` (a ``tools/cache_latents.py`` folder) swaps the training dataset
    for the cached one; batch size, sampler and everything else stay."""
    cache = cfg.get('latent_cache')
    if cache:
        cfg.train_dataloader.dataset = dict(type='CachedLatentDataset', cache_dir=cache)


def load_config(config: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None,
                amp: Optional[str] = None, resume: Optional[str] = None,
                launcher: str = 'none', use_latent_cache: bool = True,
                strategy: Optional[str] = None, configs_dir: Optional[str] = None) -> Config:
    """Config.fromfile + --cfg-options + the tools' switches, mmengine style.

    ``strategy``: a file of ``configs/_base_/strategies`` by name (``fsdp2``, ``fsdp``,
    ``deepspeed_zero2``) or a path, merged over the config (FlexibleRunner + its strategy);
    ``configs_dir``: the configs folder those names are looked up in (default: the shipped
    configs, :func:`vidrd.apis.config_files.find_configs_dir`).
    ``amp``: a precision name (``vidrd.utils.precision``); ``fp32`` leaves the optimiser wrapper
    as configured.
    """
    dtype = torch_name(amp, 'amp') if amp else None
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config!r}')
    cfg = Config.fromfile(config)
    if strategy:
        cfg.merge_from_dict(Config.fromfile(strategy_config(strategy, configs_dir)).to_dict())
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if use_latent_cache:
        _use_latent_cache(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    if dtype is not None and dtype != 'float32':  # fp32: full precision, the config as it is
        wrapper = cfg.optim_wrapper
        if torch.cuda.is_available():
            wrapper.type = 'AmpOptimWrapper'
            wrapper.dtype = dtype
            if dtype == 'float16':
                wrapper.loss_scale = 'dynamic'
        else:
            if dtype != 'bfloat16':
                raise InvalidValueError(f'amp={amp!r}: only bf16 is supported on the CPU',
                                        parameter='amp')
            wrapper.type = 'AutocastOptimWrapper'
            wrapper.dtype = dtype
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    return cfg


def add_sampling_amp_argument(parser, default: Optional[str] = None) -> None:
    """``--amp [PRECISION]`` of the tools that sample (test, generate, app, demo); the value is
    checked by :func:`with_sampling_amp` (one line naming it and the accepted names).

    Args:
        parser (argparse.ArgumentParser): the tool's parser.
        default (str, optional): without the flag: None (the config's setting) or a precision
            name, e.g. ``'auto'`` (the demo and the web app). Defaults to None.
    """
    parser.add_argument('--amp', nargs='?', const='bf16', default=default, metavar='PRECISION',
                        help='sample with the U-Net under autocast in this precision (bf16 '
                             f'without a value; one of {precision_names()}; fp32: no '
                             'autocast; auto: bf16 on a GPU with bf16 or a CPU with AMX, fp32 '
                             'otherwise, logged with the reason): faster on GPUs and on CPUs '
                             'with AMX, slower on CPUs without it'
                             + (f' (default: {default})' if default else ''))


def with_sampling_amp(cfg_options: Optional[dict], amp: Optional[str]) -> Optional[dict]:
    """``cfg_options`` plus the sampler's ``autocast_dtype`` for ``--amp`` (unchanged without;
    ``fp32`` switches a configured autocast off; ``auto`` is passed on, for the sampler to
    decide on the device it runs on)."""
    if not amp:
        return cfg_options
    return dict(cfg_options or {},
                **{'model.long_video_sampler.autocast_dtype': sampler_autocast(amp)})


def sampler_autocast(amp: str) -> Optional[str]:
    """A sampler's ``autocast_dtype`` for the precision name ``amp``.

    Args:
        amp (str): ``'auto'``, ``'fp32'`` or an autocast name (``'bf16'``, ``'fp16'``).

    Returns:
        str or None: ``'auto'``, the dtype's short name, or None for fp32 (no autocast).

    Raises:
        InvalidValueError: an unknown name (naming ``amp`` and the accepted names).
    """
    if is_auto(amp):
        return AUTO
    dtype = resolve_autocast(amp, 'amp')
    return short_name(dtype) if dtype is not None else None


def init_cpu_distributed(cfg: Config) -> None:
    """mmengine 0.10.7 calls ``torch.cuda.set_device`` when it sets up distributed training;
    on a CPU-only machine we start the gloo process group ourselves (torchrun's environment)
    before the Runner exists, and let DDP run without device ids."""
    if cfg.launcher == 'none' or not init_cpu_process_group():
        return
    # keep a configured wrapper (e.g. separate DDP for two optimisers), without device ids
    cfg.model_wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or
                                 dict(type='MMDistributedDataParallel'), device_ids=None)
    cfg.env_cfg = dict(cfg.get('env_cfg', {}), dist_cfg=dict(backend='gloo'))


def build_runner(cfg: Config):
    """The Runner of ``cfg`` (``runner_type`` in the config, VidRDRunner by default)."""
    from vidrd.registry import RUNNERS
    init_cpu_distributed(cfg)
    runner_cls = RUNNERS.get(cfg.get('runner_type', 'VidRDRunner'))
    if runner_cls is None:
        raise KeyError(f'runner_type={cfg.runner_type!r} is not a registered runner')
    return runner_cls.from_cfg(cfg)
