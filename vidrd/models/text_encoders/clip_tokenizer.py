"""CLIP's BPE tokenizer from a local folder, and building any tokenizer from a config."""
import os
import os.path as osp
from typing import Any, Sequence, Union

import torch

from vidrd.registry import MODELS
from vidrd.utils.checkpoint import WeightsNotFoundError, require_path

SD21_TOKENIZER_HINT = (
    "Stable Diffusion 2.1's tokenizer is the `tokenizer/` folder (vocab.json + merges.txt) of "
    'stabilityai/stable-diffusion-2-1-base on the Hugging Face Hub; download it yourself (vidrd '
    'never downloads) and name the local folder.')


@MODELS.register_module()
class LocalCLIPTokenizer:
    """transformers' ``CLIPTokenizer`` read from a local folder, padded to a fixed length.

    Args:
        path: a folder with ``vocab.json`` + ``merges.txt`` (or ``tokenizer.json``), such as
            SD-2.1's ``tokenizer/``, or a diffusers pipeline folder holding ``tokenizer/``.
        max_length: L of every output row (77: CLIP's context; SD pads every prompt to it).

    ``tokenizer(prompts) -> LongTensor (B, max_length)``, truncated and padded like SD-2.1's
    pipeline (``padding='max_length', truncation=True``).
    """

    def __init__(self, path: str, max_length: int = 77):
        require_path(path, 'CLIP tokenizer folder', SD21_TOKENIZER_HINT)
        if osp.isdir(osp.join(path, 'tokenizer')) and not _has_vocab(path):
            path = osp.join(path, 'tokenizer')  # a whole pipeline folder
        if not osp.isdir(path) or not _has_vocab(path):
            present = sorted(os.listdir(path)) if osp.isdir(path) else 'not a folder'
            raise WeightsNotFoundError(
                f'{path!r} is not a CLIP tokenizer folder: it needs vocab.json and merges.txt '
                f'(or tokenizer.json); found {present}. {SD21_TOKENIZER_HINT}')
        from transformers import CLIPTokenizer
        self.path = path
        self.tokenizer = CLIPTokenizer.from_pretrained(path, local_files_only=True)
        self.max_length = int(max_length)
        self.vocab_size = len(self.tokenizer)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.path!r}, vocab_size={self.vocab_size}, '
                f'max_length={self.max_length})')

    def export_config(self, folder: str) -> dict:
        """Write the tokenizer's files to ``folder``; a config that reads them back."""
        self.tokenizer.save_pretrained(folder)
        return dict(type='LocalCLIPTokenizer', path=folder, max_length=self.max_length)

    def __call__(self, prompts: Union[str, Sequence[str]]) -> torch.Tensor:
        if isinstance(prompts, str):
            prompts = [prompts]
        return self.tokenizer(list(prompts), padding='max_length', max_length=self.max_length,
                              truncation=True, return_tensors='pt').input_ids

    def decode(self, ids: Union[torch.Tensor, Sequence[int]]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def _has_vocab(folder: str) -> bool:
    def has(name):
        return osp.isfile(osp.join(folder, name))
    return has('vocab.json') and has('merges.txt') or has('tokenizer.json')


def build_tokenizer(tokenizer: Any) -> Any:
    """A tokenizer from a config.

    ``None`` -> None; a folder path -> :class:`LocalCLIPTokenizer`; a dict -> built from MODELS
    (``dict(type='WordTokenizer', vocab=[...])``, ``dict(type='LocalCLIPTokenizer', path=...)``
    or a plugin's); anything callable (an already built tokenizer) is returned as is. A tokenizer
    maps a list of prompts to a LongTensor (B, L) and has ``max_length`` and ``vocab_size``.
    """
    if tokenizer is None or (callable(tokenizer) and not isinstance(tokenizer, (str, dict))):
        return tokenizer
    if isinstance(tokenizer, str):
        return LocalCLIPTokenizer(tokenizer)
    if isinstance(tokenizer, dict):
        return MODELS.build(tokenizer)
    raise TypeError(f'tokenizer must be a folder path, a config dict or a tokenizer, got '
                    f'{type(tokenizer).__name__}')
