"""The local files and folders a config names, and where those of the shipped configs come from.

:func:`config_paths` walks a config's sections for the keys of :data:`PATH_KEYS`; the tools'
missing-path check (:func:`vidrd.apis.run_config.check_paths`) keeps the ones that do not exist,
and ``tools/docs/generate_pages.py`` runs it over every shipped config for the list in
:data:`FILES_PAGE`, so that list cannot go stale. :data:`FILE_SOURCES` says where each file comes
from; the generator refuses a shipped config naming a path it does not cover.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

#: config keys whose string values are local files or folders the run needs
PATH_KEYS = ('folder', 'pretrained', 'checkpoint', 'config', 'unet_config', 'tokenizer',
             'data_root', 'ann_file', 'split_file', 'caption_file', 'segments_file', 'weights',
             'reference_stats', 'prompt_file', 'lpips_weights', 'vgg_weights',
             'class_index_file', 'motion_module', 'cache_dir')
#: keys whose relative values are read under their dataset's ``data_root``
RELATIVE_TO_DATA_ROOT = ('ann_file', 'split_file', 'caption_file', 'segments_file')
#: the config sections the tools check (train: model + train_dataloader; test: model +
#: test_dataloader + test_evaluator; generate: model); reference_dataloader is
#: tools/compute_reference_stats.py's
SECTIONS = ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'test_evaluator',
            'val_evaluator', 'reference_dataloader')
#: where a wheel install keeps the shipped configs, relative to the ``vidrd`` package (mim's layout)
PACKAGED_CONFIGS = osp.join('.mim', 'configs')
#: the ``vidrd`` package folder
_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: the documentation page that lists the files of every shipped config (generated)
FILES_PAGE = 'docs/get_started/weights_and_data.md'

#: (path prefix, where it comes from) for the paths the shipped configs name; first match wins
FILE_SOURCES: Tuple[Tuple[str, str], ...] = (
    ('data/stable-diffusion-2-1-base', 'the diffusers folder of '
     'stabilityai/stable-diffusion-2-1-base: unet/ vae/ text_encoder/ tokenizer/'),
    ('data/vidrd/ModelT2V.pth', 'the released VidRD model (its U-Net and text encoder), '
     'from the original release'),
    ('data/vidrd/vae_finetuned', "the released temporal VAE (config.json + weights), from the "
     'original release'),
    ('data/ucf101', 'UCF-101: UCF-101/<Class>/*.avi and the official splits ucfTrainTestlist/'),
    ('data/evaluation/i3d_torchscript.pt', "FVD's Kinetics-400 I3D: StyleGAN-V's "
     'i3d_torchscript.pt, or the pytorch_i3d state dict rgb_imagenet.pt'),
    ('data/evaluation/c3d_ucf101.pt', "IS's C3D fine-tuned on UCF-101: StyleGAN-V's "
     'c3d_ucf101.pt (TGAN-v2)'),
    ('data/evaluation/ucf101_i3d_stats.npz', 'written by python tools/compute_reference_stats.py '
     'CONFIG (the real clips of the UCF-101 protocol)'),
    ('data/lpips/vgg.pth', 'the LPIPS v0.1 linear layers (vgg.pth of the lpips pip package, '
     'lpips/weights/v0.1/vgg.pth); or model.perceptual_loss=None'),
    ('data/lpips/vgg16-397923af.pth', "torchvision's ImageNet VGG-16 (vgg16-397923af.pth); or "
     'model.perceptual_loss=None'),
    ('data/webvid', 'WebVid: results_2M_train.csv and the videos as {page_dir}/{videoid}.mp4'),
    ('data/images', 'image-text pairs: captions.jsonl ({"path", "caption"} per line, e.g. from '
     'tools/data/convert_laion.py) and the images'),
    ('data/text-to-video-ms-1.7b', 'the diffusers pipeline folder of '
     'damo-vilab/text-to-video-ms-1.7b: unet/ vae/ text_encoder/ tokenizer/ scheduler/'),
    ('data/zeroscope_v2_576w', 'the diffusers pipeline folder of cerspense/zeroscope_v2_576w: '
     'unet/ vae/ text_encoder/ tokenizer/ scheduler/'),
    ('data/stable-diffusion-v1-5', 'the diffusers folder of Stable Diffusion 1.5 '
     '(runwayml/stable-diffusion-v1-5): unet/ vae/ text_encoder/ tokenizer/'),
    ('data/animatediff', "AnimateDiff's motion module mm_sd_v15_v2.ckpt (guoyww/animatediff), "
     'or a diffusers MotionAdapter folder'),
    ('work_dirs/', 'written by an earlier vidrd run (the config says which)'),
)


def _is_configs_dir(path: str) -> bool:
    """Whether ``path`` is a folder of vidrd configs (it holds ``_base_/``)."""
    return osp.isdir(osp.join(path, '_base_'))


def find_configs_dir(configs_dir: Optional[str] = None) -> str:
    """The folder of the shipped configs (``vidrd_tiny_shapes.py``, ``_base_/``, ...).

    Looked for in this order: ``configs_dir`` (the tools' ``--configs-dir``); the repository's
    ``configs/`` when ``vidrd`` is imported from a source checkout (``setup.py`` next to the
    package); the copy a wheel install carries in the package (``vidrd/.mim/configs``).

    Args:
        configs_dir (str, optional): a folder of configs to use instead of the shipped ones.
            Defaults to None (search).

    Returns:
        str: the absolute path of the folder.

    Raises:
        FileNotFoundError: ``configs_dir`` is not a folder of configs (no ``_base_/`` in it), or
            neither a checkout's nor a packaged copy exists.
    """
    if configs_dir is not None:
        if not _is_configs_dir(configs_dir):
            raise FileNotFoundError(f'configs_dir {configs_dir!r} is not a folder of vidrd '
                                    'configs (it has no _base_/ folder)')
        return osp.abspath(configs_dir)
    root = osp.dirname(_PACKAGE)
    checkout = osp.join(root, 'configs')
    if osp.isfile(osp.join(root, 'setup.py')) and _is_configs_dir(checkout):
        return checkout
    packaged = osp.join(_PACKAGE, PACKAGED_CONFIGS)
    if _is_configs_dir(packaged):
        return packaged
    raise FileNotFoundError(f'no vidrd configs found: neither {checkout} (a source checkout) nor '
                            f'{packaged} (a wheel install) exists; give the folder of your copy '
                            'as configs_dir')


def shipped_config(*parts: str, configs_dir: Optional[str] = None) -> str:
    """The path of a shipped config file or folder, e.g. ``shipped_config('ablations',
    'tiny_shapes')``.

    Args:
        *parts (str): the path inside the configs folder.
        configs_dir (str, optional): the configs folder (see :func:`find_configs_dir`).
            Defaults to None (the shipped one).

    Returns:
        str: the absolute path (not checked to exist).
    """
    return osp.join(find_configs_dir(configs_dir), *parts)


def file_source_entry(path: str) -> Optional[Tuple[str, str]]:
    """The entry of :data:`FILE_SOURCES` that covers ``path``.

    Args:
        path (str): a path a shipped config names.

    Returns:
        tuple[str, str] | None: ``(path prefix, where it comes from)``, or None when no entry
        covers it.
    """
    path = osp.normpath(path).replace(os.sep, '/')
    for prefix, source in FILE_SOURCES:
        if path == prefix.rstrip('/') or path.startswith(prefix.rstrip('/') + '/'):
            return prefix.rstrip('/'), source
    return None


def file_source(path: str) -> Optional[str]:
    """Where a shipped config's ``path`` comes from (:data:`FILE_SOURCES`).

    Args:
        path (str): a path a shipped config names.

    Returns:
        str | None: the description, or None when no entry covers it.
    """
    entry = file_source_entry(path)
    return entry[1] if entry else None


def _walk(node, prefix: str = '', data_root: str = '') -> Iterator[Tuple[str, object, str]]:
    """(key, value, data_root of the enclosing dataset) of every leaf of a config tree."""
    if isinstance(node, dict):
        data_root = node.get('data_root') or data_root
        for key, value in node.items():
            if key == 'weights' and node.get('train_if_missing'):
                continue  # the component trains and writes a missing file itself
            yield from _walk(value, f'{prefix}.{key}' if prefix else str(key), data_root)
    elif isinstance(node, (list, tuple)):
        for k, value in enumerate(node):
            yield from _walk(value, f'{prefix}[{k}]', data_root)
    else:
        yield prefix, node, data_root


def config_paths(cfg, sections: Sequence[str] = SECTIONS) -> List[Tuple[str, str]]:
    """(config key, path) of every local file or folder a config names, existing or not.

    Args:
        cfg (mmengine.config.Config | dict): the config.
        sections (Sequence[str]): the top-level sections to walk (absent ones are skipped).

    Returns:
        list[tuple[str, str]]: e.g. ``('model.unet.folder', 'data/stable-diffusion-2-1-base/
        unet')``; ``ann_file`` and friends joined to their dataset's ``data_root``. A tokenizer
        given by a hub-style name (no path separator) is not a file and is left out.
    """
    paths = []
    for section in sections:
        node = cfg.get(section)
        if node is None:
            continue
        node = node.to_dict() if hasattr(node, 'to_dict') else node
        for key, value, data_root in _walk(node, section):
            leaf = key.rsplit('.', 1)[-1]
            if leaf not in PATH_KEYS or not isinstance(value, str) or not value:
                continue
            if leaf == 'tokenizer' and not (os.sep in value or value.startswith('.')):
                continue
            path = value
            if leaf in RELATIVE_TO_DATA_ROOT and not osp.isabs(value):
                path = osp.join(data_root, value)
            paths.append((key, path))
    return paths
