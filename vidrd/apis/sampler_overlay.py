"""Sampler configs as overlays on a model's sampler (``--sampler-config``).

A sampler config (``configs/ablations/*.py``, ``configs/long_video/*.py``) says *how* long
videos are made: the sampler type, its strategies and their parameters. The model config says
what the model was trained for: N frames per clip (``num_frames``), M prompt frames
(``num_prompt_frames``), DDIM steps and guidance. Merging one over the other therefore keeps
the model's values for every key the overlay does not name:

- same sampler type (or none named): the overlay's keys replace the model's, lists such as
  ``strategies`` whole; the model's other keys stay;
- another type (e.g. ``FIFODiffusionSampler`` over a ``ReuseAndDiffuseSampler``): the overlay
  replaces the model's sampler, and takes from it only :data:`MODEL_SAMPLER_KEYS` that the new
  type's constructor accepts (looked up through the registry) and the overlay does not name.
"""
import inspect
from typing import Mapping, Optional

#: what the model decides (clip length, prompt frames, steps, guidance) and how it runs
#: (autocast, progress bar): carried into a sampler of another type
MODEL_SAMPLER_KEYS = ('num_frames', 'num_prompt_frames', 'num_inference_steps',
                      'guidance_scale', 'autocast_dtype', 'progress')
#: the sampler VidRD builds when its ``long_video_sampler`` names no type
DEFAULT_TYPE = 'ReuseAndDiffuseSampler'


def accepted_arguments(sampler_type: str) -> Optional[set]:
    """Keyword arguments of a registered sampler's constructor; None when it takes any
    (``**kwargs``) or the type is not registered (building it will say so)."""
    from vidrd.registry import MODELS
    cls = MODELS.get(sampler_type)
    if cls is None:
        return None
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                 inspect.Parameter.KEYWORD_ONLY)}


def overlay_sampler(model_cfg: Mapping, overlay: Mapping) -> dict:
    """The model's ``long_video_sampler`` with a sampler config's ``overlay`` merged in.

    Args:
        model_cfg: the config's ``model`` (its ``long_video_sampler`` and ``num_frames``).
        overlay: the sampler config's ``long_video_sampler`` dict.

    Returns:
        dict: the merged sampler config (see the module docstring).
    """
    base = dict(model_cfg.get('long_video_sampler') or {})
    if 'num_frames' not in base and model_cfg.get('num_frames') is not None:
        base['num_frames'] = model_cfg['num_frames']  # a model without its own sampler: its N
    overlay = dict(overlay)
    # a model sampler without a type is VidRD's default one (vidrd.models.vidrd_model)
    new_type, old_type = overlay.get('type'), base.get('type', DEFAULT_TYPE)
    if new_type is None or new_type == old_type:
        return dict(base, **overlay)
    accepted = accepted_arguments(new_type)
    kept = {key: base[key] for key in MODEL_SAMPLER_KEYS
            if key in base and key not in overlay and (accepted is None or key in accepted)}
    return dict(overlay, **kept)
