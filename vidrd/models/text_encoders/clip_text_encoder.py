"""The frozen CLIP text encoder that conditions the U-Net (SD-2.1's OpenCLIP ViT-H text tower)."""
import os
import os.path as osp
from typing import Any, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from vidrd.registry import MODELS
from vidrd.utils.checkpoint import (CheckpointMismatchError, LoadReport, WeightsNotFoundError,
                                    find_weights_file, load_into, load_state_dict, require_path,
                                    strip_prefix)
from vidrd.utils.logging import get_logger

from .clip_tokenizer import build_tokenizer
from vidrd.utils.errors import InvalidValueError

SD21_TEXT_ENCODER_HINT = (
    "Stable Diffusion 2.1's text encoder is the `text_encoder/` folder (config.json + "
    'model.safetensors) and its tokenizer the `tokenizer/` folder (vocab.json + merges.txt) of '
    'stabilityai/stable-diffusion-2-1-base on the Hugging Face Hub; download them yourself '
    '(vidrd never downloads) and set `pretrained=` / `tokenizer=` to the local folders.')
ORIGINAL_CHECKPOINT_HINT = (
    "The VidRD release's `ModelT2V.pth` holds the text encoder under `text_encoder.*` keys "
    '(inside `state_dict`); name a local copy of it.')
WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
# transformers >= 4.31 rebuilds this constant buffer (arange(77)); older files still hold it
POSITION_IDS = 'text_model.embeddings.position_ids'


@MODELS.register_module()
class CLIPTextEncoder(nn.Module):
    """transformers' ``CLIPTextModel`` + a tokenizer: prompts -> (B, 77, D) token embeddings.

    The output is ``last_hidden_state``: every token's feature after the final LayerNorm, which
    the U-Net's cross-attention reads. SD-2.1 conditions on the penultimate layer of OpenCLIP
    ViT-H/14; its diffusers ``text_encoder/`` folder already has that last layer removed
    (``num_hidden_layers: 23`` of 24), so the final output of this model *is* SD-2.1's
    conditioning (D = 1024). VidRD keeps the text encoder frozen (paper sec. 3.2).

    Weights, exactly one source:

    - ``pretrained``: a folder with ``config.json`` + ``model.safetensors`` (or
      ``pytorch_model.bin``), e.g. SD-2.1's ``text_encoder/``, or a diffusers pipeline folder
      holding ``text_encoder/`` (then its ``tokenizer/`` is the default tokenizer);
    - ``config`` alone: random init (tests, tiny models trained from scratch);
    - ``checkpoint`` (+ ``config`` or ``pretrained`` for the architecture): a file keeping the
      text encoder under ``state_dict_prefix``, e.g. the released ``ModelT2V.pth``
      (``{"state_dict": {"text_encoder.text_model...": ...}}``).

    Parameter names are ``text_model.*`` (the layout of SD-2.1's files and of ``ModelT2V.pth``,
    whatever the transformers version), so a model holding this module as ``text_encoder`` has
    the original release's keys.

    Args:
        pretrained: weights folder (see above).
        config: ``CLIPTextConfig`` arguments (dict), a ``CLIPTextConfig``, or a folder / json
            file; overrides ``pretrained``'s ``config.json``.
        tokenizer: a CLIP tokenizer folder, ``dict(type='WordTokenizer', vocab=[...])``, any
            registered tokenizer config, or a built tokenizer; needed by :meth:`encode` only.
        checkpoint: file to load the weights from instead of ``pretrained``'s.
        state_dict_prefix: the prefix of the text encoder's keys in ``checkpoint``.
        trust_pickle: allow ``checkpoint`` to be a pickle that needs more than tensors.
        frozen: no gradients, and eval mode that ``train()`` does not undo (dropout off).

    Shapes: ``forward(input_ids (B, L)) -> (B, L, D)``; ``encode(prompts) -> (B, L, D)``, L = 77.
    """

    def __init__(self, pretrained: Optional[str] = None,
                 config: Union[Mapping[str, Any], str, Any, None] = None,
                 tokenizer: Any = None, checkpoint: Optional[str] = None,
                 state_dict_prefix: str = 'text_encoder.', trust_pickle: bool = False,
                 frozen: bool = True):
        super().__init__()
        if pretrained is None and config is None:
            raise InvalidValueError(
                'CLIPTextEncoder needs pretrained=<folder> or config=<CLIPTextConfig '
                f'arguments>. {SD21_TEXT_ENCODER_HINT}')
        folder = _resolve_folder(pretrained) if pretrained is not None else None
        self.config = _load_config(config if config is not None else folder)

        from transformers import CLIPTextModel
        model = CLIPTextModel(self.config)
        # transformers 4 wraps the transformer as `.text_model`; 5 does not (it renames the
        # files' `text_model.*` keys on load). Holding it as `text_model` gives the files' names
        # under both.
        self.text_model = getattr(model, 'text_model', model)

        if checkpoint is not None:
            self.load_state_dict_from_original(checkpoint, state_dict_prefix, trust_pickle)
        elif folder is not None:
            self.load_pretrained_weights(folder)

        if tokenizer is None and pretrained is not None and folder != pretrained:
            root_tokenizer = osp.join(pretrained, 'tokenizer')
            if osp.isdir(root_tokenizer):
                get_logger().info(f'CLIPTextEncoder: using the tokenizer of {pretrained}')
                tokenizer = root_tokenizer
        self.tokenizer = build_tokenizer(tokenizer)
        self._check_tokenizer()

        self.frozen = frozen
        if frozen:
            self.requires_grad_(False)
            self.eval()

    # --- weights ------------------------------------------------------------------------------
    def load_pretrained_weights(self, folder: str) -> LoadReport:
        """Load ``model.safetensors`` / ``pytorch_model.bin`` of a transformers folder."""
        path = find_weights_file(folder, WEIGHT_FILES, SD21_TEXT_ENCODER_HINT)
        return self._load_text_model_state(
            load_state_dict(path, hint=SD21_TEXT_ENCODER_HINT), source=path)

    def load_state_dict_from_original(self, path: str, prefix: str = 'text_encoder.',
                                      trust_pickle: bool = False) -> LoadReport:
        """Load the keys ``prefix*`` of a checkpoint (optionally nested under ``state_dict``),
        e.g. the released ``ModelT2V.pth``."""
        state = load_state_dict(path, trust_pickle=trust_pickle, hint=ORIGINAL_CHECKPOINT_HINT)
        if isinstance(state.get('state_dict'), Mapping):
            state = state['state_dict']
        own = strip_prefix(state, prefix)
        if not own:
            found = sorted({k.split('.', 1)[0] + '.' for k in state})
            raise CheckpointMismatchError(
                f'{path!r} has no keys starting with {prefix!r} (its keys start with '
                f'{found[:10]}); set state_dict_prefix to the text encoder\'s prefix.')
        return self._load_text_model_state(own, source=f'{path} [{prefix}*]')

    def _load_text_model_state(self, state: Mapping[str, torch.Tensor], source: str
                               ) -> LoadReport:
        if state and not any(k.startswith('text_model.') for k in state):
            state = {f'text_model.{k}': v for k, v in state.items()}  # saved without the prefix
        state = {k: v for k, v in state.items() if k != POSITION_IDS}
        return load_into(self, state, source=source)

    def export_config(self, folder: str) -> dict:
        """Write ``config.json`` (and the tokenizer's files, under ``tokenizer/``) to
        ``folder``; a config that rebuilds this encoder from them (weights come separately)."""
        os.makedirs(folder, exist_ok=True)
        self.config.to_json_file(osp.join(folder, 'config.json'))
        tokenizer = None
        if self.tokenizer is not None:
            if not hasattr(self.tokenizer, 'export_config'):
                raise TypeError(f'cannot export the tokenizer {type(self.tokenizer).__name__}: '
                                'give it an export_config(folder) -> config dict method')
            tokenizer = self.tokenizer.export_config(osp.join(folder, 'tokenizer'))
        return dict(type='CLIPTextEncoder', config=folder, tokenizer=tokenizer, frozen=self.frozen)

    # --- modes --------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> 'CLIPTextEncoder':
        """A frozen encoder stays in eval mode (a parent's ``train()`` must not turn on
        dropout)."""
        return super().train(mode and not getattr(self, 'frozen', False))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def hidden_size(self) -> int:
        """D, the width of the token embeddings (SD-2.1: 1024)."""
        return self.config.hidden_size

    @property
    def max_length(self) -> int:
        """L, the number of tokens per prompt."""
        return getattr(self.tokenizer, 'max_length', self.config.max_position_embeddings)

    # --- encoding -----------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token ids (B, L) -> last_hidden_state (B, L, D)."""
        if input_ids.ndim != 2 or input_ids.dtype.is_floating_point:
            raise ValueError(f'input_ids must be an integer tensor (B, L), got '
                             f'{tuple(input_ids.shape)} {input_ids.dtype}')
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(f'{input_ids.shape[1]} tokens exceed the text encoder\'s '
                             f'{self.config.max_position_embeddings} positions')
        input_ids = input_ids.to(self.device)
        if input_ids.numel() and not 0 <= int(input_ids.min()) <= int(input_ids.max()) \
                < self.config.vocab_size:
            raise ValueError(f'token ids must be in [0, {self.config.vocab_size}) (vocab_size); '
                             f'got [{int(input_ids.min())}, {int(input_ids.max())}]')
        # a frozen encoder builds no graph: nothing upstream of its output needs gradients
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            return self.text_model(input_ids=input_ids).last_hidden_state

    def tokenize(self, prompts: Union[str, Sequence[str]]) -> torch.Tensor:
        """Prompts -> LongTensor (B, L) with the configured tokenizer."""
        if self.tokenizer is None:
            raise RuntimeError('CLIPTextEncoder has no tokenizer: set tokenizer=<CLIP tokenizer '
                               "folder> or dict(type='WordTokenizer', vocab=[...]), or call "
                               f'forward(input_ids). {SD21_TEXT_ENCODER_HINT}')
        return self.tokenizer([prompts] if isinstance(prompts, str) else list(prompts))

    def encode(self, prompts: Union[str, Sequence[str]]) -> torch.Tensor:
        """Prompts (B strings) -> token embeddings (B, L, D), L = 77 for CLIP."""
        return self(self.tokenize(prompts))

    def _check_tokenizer(self) -> None:
        if self.tokenizer is None:
            return
        vocab_size = getattr(self.tokenizer, 'vocab_size', None)
        if vocab_size is not None and vocab_size > self.config.vocab_size:
            raise InvalidValueError(
                f'the tokenizer has {vocab_size} ids but the text encoder only '
                f'{self.config.vocab_size} embeddings (config vocab_size); use a '
                'matching tokenizer or a larger vocab_size')
        length = getattr(self.tokenizer, 'max_length', None)
        if length is not None and length > self.config.max_position_embeddings:
            raise InvalidValueError(f'tokenizer max_length {length} exceeds the text encoder\'s '
                                    f'{self.config.max_position_embeddings} positions')


def _resolve_folder(pretrained: str) -> str:
    """The folder holding ``config.json``: ``pretrained`` or its ``text_encoder/``."""
    require_path(pretrained, 'text encoder folder', SD21_TEXT_ENCODER_HINT)
    for folder in (pretrained, osp.join(pretrained, 'text_encoder')):
        if osp.isfile(osp.join(folder, 'config.json')):
            return folder
    raise WeightsNotFoundError(f'no config.json in {pretrained!r} (nor in its text_encoder/). '
                               f'{SD21_TEXT_ENCODER_HINT}')


def _load_config(config: Any):
    from transformers import CLIPTextConfig
    if isinstance(config, CLIPTextConfig):
        return config
    if isinstance(config, Mapping):
        return CLIPTextConfig(**config)
    if isinstance(config, str):
        require_path(config, 'text encoder config', SD21_TEXT_ENCODER_HINT)
        if osp.isfile(config):
            return CLIPTextConfig.from_json_file(config)
        return CLIPTextConfig.from_pretrained(_resolve_folder(config), local_files_only=True)
    raise TypeError(f'config must be a dict, a CLIPTextConfig or a path, got '
                    f'{type(config).__name__}')
