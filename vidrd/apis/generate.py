"""Prompts -> long videos on disk (mp4 / gif / PNG frames) with the Reuse-and-Diffuse sampler.

The logic behind ``tools/generate.py``, importable for notebooks::

    from vidrd.apis import generate_long_video, load_generation_model
    model = load_generation_model('configs/vidrd_tiny_shapes.py', 'work_dirs/.../iter_1500.pth',
                                  sampler_config='configs/ablations/vidrd_full.py')
    generate_long_video(model, ['a red circle moving left'], num_clips=4, seed=0,
                        out_dir='outputs')
"""
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config

from vidrd.models.long_video import (GeneratedClip, LongVideoSampler, encode_prompts,
                                     encode_storyline)
from vidrd.registry import MODELS
from vidrd.utils.errors import DataError, InvalidValueError, check_value
from vidrd.utils.checkpoint import CheckpointMismatchError, load_into, load_state_dict
from vidrd.utils.logging import get_logger

Prompt = Union[str, Sequence[str]]  # one prompt for every clip, or one per clip (a storyline)
FORMATS = ('mp4', 'gif')
#: the full method, used when neither the call nor the model names a sampler
DEFAULT_SAMPLER = dict(
    type='ReuseAndDiffuseSampler', num_frames=16, num_prompt_frames=8, num_inference_steps=50,
    guidance_scale=7.5, strategies=[
        dict(type='FrameNoiseReversion'), dict(type='PastDependentNoiseSampling', alpha=4.0),
        dict(type='StagedGuidanceDenoising', beta=0.4)])


@dataclass
class GeneratedVideo:
    """One generated video: its prompt(s), frame count and files (format -> path; ``png`` ->
    the folder of frames)."""
    prompt: Prompt
    num_frames: int
    files: Dict[str, str] = field(default_factory=dict)


# --- inputs ---------------------------------------------------------------------------------
def read_prompt_file(path: str) -> List[str]:
    """Prompts of a text file, one per line; blank lines and lines starting with # skipped.

    Args:
        path (str): the text file (UTF-8).

    Returns:
        list[str]: the prompts, stripped, in the file's order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it holds no prompt.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'prompt file not found: {path!r} (one prompt per line)')
    with open(path, encoding='utf-8') as f:
        prompts = [line.strip() for line in f]
    prompts = [p for p in prompts if p and not p.startswith('#')]
    if not prompts:
        raise DataError(f'{path}: no prompts (one per line; # starts a comment)')
    return prompts


def _getter(model_or_components):
    if isinstance(model_or_components, dict):
        return model_or_components.get
    return lambda key: getattr(model_or_components, key, None)


def generation_components(model_or_components) -> SimpleNamespace:
    """``unet``, ``vae``, ``text_encoder`` and the sampling ``scheduler`` of a VidRD model.

    Args:
        model_or_components: a VidRD model, or any object / dict with those names
            (``sampling_scheduler`` is accepted for ``scheduler``).

    Returns:
        SimpleNamespace: ``unet``, ``vae``, ``text_encoder``, ``scheduler``.

    Raises:
        AttributeError: one of them is missing.
    """
    get = _getter(model_or_components)
    parts = dict(unet=get('unet'), vae=get('vae'), text_encoder=get('text_encoder'),
                 scheduler=get('scheduler') or get('sampling_scheduler'))
    missing = [k for k, v in parts.items() if v is None]
    if missing:
        raise AttributeError(f'{type(model_or_components).__name__} lacks {missing}: pass a VidRD '
                             'model or a dict with unet, vae, text_encoder and scheduler')
    return SimpleNamespace(**parts)


def build_sampler(sampler_cfg, model_or_components=None) -> LongVideoSampler:
    """The long-video sampler from a config dict or a built sampler; else the model's own
    (``sampler`` / ``long_video_sampler``); else the full method (``DEFAULT_SAMPLER``).

    Args:
        sampler_cfg (dict | Config | LongVideoSampler | None): the sampler (a built one is
            returned as it is).
        model_or_components (optional): whose sampler to use when ``sampler_cfg`` is None.
            Defaults to None.

    Returns:
        LongVideoSampler: the sampler.

    Raises:
        TypeError: the config builds something that is not a ``LongVideoSampler``.
    """
    if sampler_cfg is None and model_or_components is not None:
        get = _getter(model_or_components)
        sampler_cfg = get('sampler') or get('long_video_sampler')
    if sampler_cfg is None:
        sampler_cfg = DEFAULT_SAMPLER
    if isinstance(sampler_cfg, LongVideoSampler):
        return sampler_cfg
    if hasattr(sampler_cfg, 'to_dict'):
        sampler_cfg = sampler_cfg.to_dict()
    sampler = MODELS.build(dict(sampler_cfg))
    if not isinstance(sampler, LongVideoSampler):
        raise TypeError(f'long_video_sampler type {sampler_cfg.get("type")!r} built a '
                        f'{type(sampler).__name__}, which is not a long-video sampler '
                        '(subclass vidrd.models.long_video.LongVideoSampler)')
    return sampler


# --- the generation --------------------------------------------------------------------------
def _slug(prompt: Prompt, limit: int = 60) -> str:
    text = prompt if isinstance(prompt, str) else prompt[0]
    return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')[:limit] or 'video'


def generate_long_video(model_or_components, prompts: Union[Prompt, Sequence[Prompt]],
                        num_clips: Optional[int] = None, seed: int = 0, sampler_cfg=None,
                        out_dir: str = 'outputs', formats: Sequence[str] = FORMATS,
                        png_frames: bool = False, *, storyline: bool = False,
                        negative_prompt: Optional[str] = None,
                        resolution: Optional[Sequence[int]] = None,
                        fps: float = 8,
                        callback: Optional[Callable] = None) -> List[GeneratedVideo]:
    """Generate one long video per prompt and write it to ``out_dir``.

    Args:
        model_or_components: a VidRD model, or any object / dict with ``unet``, ``vae``
            (``decode_video``, ``spatial_compression``, ``config['latent_channels']``),
            ``text_encoder`` (``encode``) and ``scheduler`` (DDIM).
        prompts: a prompt or a list of them (one video each); an element that is itself a list
            is a storyline (clip i follows element i). ``storyline=True`` makes the whole list
            one storyline video.
        num_clips: clips per video (default: the storyline's length, else the model's
            ``num_clips``, else 1).
        seed: every video uses this seed, so a prompt gives the same video wherever it stands.
        sampler_cfg: a sampler config / instance (default: the model's, else the full method).
        out_dir: where ``{index:03d}_{prompt}.{mp4,gif}`` (and PNG frame folders) go.
        formats: any of ``mp4``, ``gif``.
        png_frames: also write every frame as a PNG (as soon as its clip is done).
        negative_prompt: the unconditional prompt (default: the model's, else "").
        resolution: (H, W) in pixels (default: the model's ``resolution``, else 256 x 256).
        fps: frames per second of the files.
        callback: called after every DDIM step as ``callback(clip_index, step_index,
            num_clips, num_steps)`` (a progress bar), see ``ReuseAndDiffuseSampler.sample``.

    Returns:
        list[GeneratedVideo]: per video, its prompt(s), frame count and the files written
        (:func:`vidrd.apis.long_video_ablation.long_video_samples` returns the videos
        themselves instead, for scoring).

    The sampler streams clips: each is turned into uint8 frames (and PNGs) as soon as it is
    decoded; the uint8 frames of a video are kept until its mp4 / gif are written.
    """
    from vidrd.datasets.video_io import video_tensor_to_uint8, write_video
    check_value(num_clips is None or num_clips >= 1, f'num_clips must be >= 1, got {num_clips}',
                'num_clips')
    check_value(fps > 0, f'fps must be > 0, got {fps}', 'fps')
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise InvalidValueError(f'unknown video format(s) {sorted(unknown)}; choose from {FORMATS}')
    parts = generation_components(model_or_components)
    sampler = build_sampler(sampler_cfg, model_or_components)
    get = _getter(model_or_components)
    if negative_prompt is None:
        negative_prompt = get('negative_prompt') or ''
    height, width = resolution or get('resolution') or (256, 256)
    factor = parts.vae.spatial_compression
    check_value(height > 0 and width > 0 and not (height % factor or width % factor),
                f'resolution {height}x{width} is not a positive multiple of the VAE\'s '
                f'downsampling factor {factor}', 'resolution')
    latent_shape = (parts.vae.config['latent_channels'], height // factor, width // factor)
    if isinstance(prompts, str):
        prompts = [prompts]
    videos = [list(prompts)] if storyline else list(prompts)
    os.makedirs(out_dir, exist_ok=True)
    log = get_logger()
    log.info(f'generating {len(videos)} video(s) with {sampler}')

    results = []
    for index, prompt in enumerate(videos):
        stem = osp.join(out_dir, f'{index:03d}_{_slug(prompt)}')
        if isinstance(prompt, str):
            cond, uncond = encode_prompts(parts.text_encoder, [prompt], negative_prompt)
            clips = num_clips or get('num_clips') or 1
        else:
            cond, uncond = encode_storyline(parts.text_encoder, prompt, negative_prompt)
            if num_clips is not None and num_clips != len(prompt):
                raise InvalidValueError(
                    f'storyline of {len(prompt)} prompts but num_clips={num_clips}')
            clips = len(prompt)
        frames: List[np.ndarray] = []
        png_dir = stem + '_frames'

        def sink(clip: GeneratedClip) -> None:
            uint8 = video_tensor_to_uint8(clip.video[0])
            if png_frames:
                from PIL import Image
                os.makedirs(png_dir, exist_ok=True)
                start = sum(len(f) for f in frames)
                for k, frame in enumerate(uint8):
                    Image.fromarray(frame).save(osp.join(png_dir, f'{start + k:05d}.png'))
            frames.append(uint8)

        sampler.sample(parts.unet, parts.scheduler, cond, uncond, latent_shape=latent_shape,
                       num_clips=clips, seed=seed, decode_fn=parts.vae.decode_video, sink=sink,
                       callback=callback)
        video = np.concatenate(frames)
        result = GeneratedVideo(prompt=prompt, num_frames=len(video))
        for fmt in formats:
            result.files[fmt] = write_video(f'{stem}.{fmt}', video, fps=fps)
        if png_frames:
            result.files['png'] = png_dir
        log.info(f'[{index + 1}/{len(videos)}] {len(video)} frames -> '
                 + ', '.join(result.files.values()))
        results.append(result)
    return results


# --- model from a config + checkpoint ----------------------------------------------------------
def load_generation_config(config: str, sampler_config: Optional[str] = None,
                           cfg_options: Optional[dict] = None) -> Config:
    """A model config with a sampler config laid over its sampler, then ``--cfg-options``.

    ``sampler_config`` is a file defining ``long_video_sampler = dict(...)`` (e.g.
    ``configs/ablations/no_dsg.py``), an overlay (``vidrd.apis.sampler_overlay``): its entries
    replace those of the model's ``model.long_video_sampler`` (lists such as ``strategies``
    whole), and the model keeps its N (``num_frames``), M (``num_prompt_frames``), steps and
    guidance unless the file names them. A file naming another sampler ``type`` replaces the
    model's sampler but still takes those of the model's values the new type accepts. Options
    then address the merged config, e.g. ``model.long_video_sampler.guidance_scale=9``.

    Args:
        config (str): the model's config file.
        sampler_config (str, optional): the sampler overlay file. Defaults to None.
        cfg_options (dict, optional): overrides of the merged config's entries. Defaults to
            None.

    Returns:
        Config: the merged config.
    """
    from vidrd.apis.sampler_overlay import overlay_sampler
    from vidrd.utils.errors import UserError
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config!r}')
    cfg = Config.fromfile(config)
    if sampler_config is not None:
        if not osp.isfile(sampler_config):
            raise FileNotFoundError(f'sampler config not found: {sampler_config!r}')
        sampler = Config.fromfile(sampler_config).get('long_video_sampler')
        if not isinstance(sampler, dict):
            raise UserError(f'{sampler_config} defines no long_video_sampler = dict(...) '
                            '(see configs/ablations/vidrd_full.py)')
        model = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
        cfg.model.long_video_sampler = overlay_sampler(model, sampler.to_dict())
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_generation_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                          sampler_config: Optional[str] = None,
                          cfg_options: Optional[dict] = None, device: str = 'cpu',
                          trust_pickle: bool = False):
    """Build ``cfg.model`` and load a trained checkpoint into it (eval mode, on ``device``).

    The checkpoint is read safely (safetensors / ``weights_only``); it may hold only the
    parameters training changed (vidrd's checkpoints): frozen parts come from the config's
    weights. Keys that do not fit, or trainable parameters it lacks, are errors. A standalone
    export's config (``standalone_weights = True``, see ``vidrd.apis.export``) builds every part
    at random init, so there the checkpoint must hold every weight.

    Args:
        config (str | Config): the model's config (a file is read with
            :func:`load_generation_config`).
        checkpoint (str, optional): the trained checkpoint. Defaults to None (the config's
            weights only; a warning).
        sampler_config (str, optional): a sampler overlay file (config files only). Defaults
            to None.
        cfg_options (dict, optional): overrides of the config's entries (config files only).
            Defaults to None.
        device (str): where the model goes. Defaults to ``'cpu'``.
        trust_pickle (bool): allow a pickle checkpoint that needs arbitrary code to load.
            Defaults to False.

    Returns:
        the built model (``cfg.model``, e.g. ``VidRD``), in eval mode on ``device``.

    Raises:
        CheckpointMismatchError: the checkpoint does not fit the model.
    """
    from vidrd.apis.run_config import check_paths
    cfg = config if isinstance(config, Config) else load_generation_config(
        config, sampler_config, cfg_options)
    check_paths(cfg, sections=('model',))
    standalone = bool(cfg.get('standalone_weights', False))
    if standalone and checkpoint is None:
        raise InvalidValueError(f'{cfg.filename} is a standalone export: give its weights, the '
                                'model.safetensors next to it, as the checkpoint')
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        state = load_state_dict(checkpoint, trust_pickle=trust_pickle,
                                hint='a checkpoint written by tools/train.py (work_dirs/...)')
        state = state.get('state_dict', state)
        state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
        report = load_into(model, state, source=checkpoint, strict=False)
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        lacking = [k for k in report.missing if standalone or k in trainable]
        if report.unexpected or report.mismatched or lacking:
            raise CheckpointMismatchError(
                f'{checkpoint} does not fit the model of the config:\n{report.describe()}'
                + (f'\n  {"weights" if standalone else "trainable parameters"} it lacks: '
                   f'{lacking[:10]}' if lacking else ''))
    else:
        get_logger().warning('no checkpoint given: generating with the weights the config '
                             'names (temporal layers untrained unless they come from there)')
    return model.to(device).eval()
