"""Encode prompts once for the long-video sampler (which itself takes embeddings)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from vidrd.utils.errors import InvalidValueError


def _encode(text_encoder, prompts: List[str]) -> torch.Tensor:
    if not hasattr(text_encoder, 'encode'):
        raise TypeError(f'{type(text_encoder).__name__} has no encode(prompts) -> (B, L, D); pass '
                        'vidrd\'s CLIPTextEncoder (or an object with that method)')
    with torch.no_grad():
        return text_encoder.encode(list(prompts))


def encode_prompts(text_encoder, prompts: Union[str, Sequence[str]],
                   negative_prompts: Union[str, Sequence[str], None] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Embeddings for classifier-free guidance: ``(cond, uncond)``, each (B, L, D).

    ``uncond`` encodes the negative prompts, or the empty string when there are none (the
    unconditional branch of Stable Diffusion). A single negative prompt is used for all B.
    """
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if negative_prompts is None:
        negative_prompts = ''
    if isinstance(negative_prompts, str):
        negative_prompts = [negative_prompts] * len(prompts)
    if len(negative_prompts) != len(prompts):
        raise InvalidValueError(
            f'{len(negative_prompts)} negative prompts for {len(prompts)} prompts')
    embeds = _encode(text_encoder, prompts + list(negative_prompts))
    return embeds[:len(prompts)], embeds[len(prompts):]


def encode_storyline(text_encoder, clip_prompts: Sequence[str],
                     negative_prompt: Optional[str] = None
                     ) -> Tuple[List[torch.Tensor], torch.Tensor]:
    """One video whose clip ``i`` follows ``clip_prompts[i]``.

    Returns ``(per_clip, uncond)``: a list with one (1, L, D) embedding per clip (a prompt that
    repeats is encoded once and its tensor shared) and the (1, L, D) unconditional embedding.
    """
    unique = list(dict.fromkeys(clip_prompts))
    embeds = _encode(text_encoder, unique + [negative_prompt or ''])
    by_prompt = {p: embeds[k:k + 1] for k, p in enumerate(unique)}
    return [by_prompt[p] for p in clip_prompts], embeds[-1:]
