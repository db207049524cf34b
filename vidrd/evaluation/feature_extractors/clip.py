"""CLIP (transformers) image and text embeddings for CLIP similarity (CLIPSIM).

CLIPSIM (Wu et al., GODIVA 2021; used by Make-A-Video and VidRD's peers) is the cosine
similarity of each frame's CLIP image embedding with the prompt's text embedding, averaged over
frames and videos. The model comes from a local transformers folder (``config.json``, weights,
tokenizer files, optionally ``preprocessor_config.json``), e.g. a copy of
``openai/clip-vit-base-patch32``; weights are read through :mod:`vidrd.utils.checkpoint`.
"""
import json
import os.path as osp
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.checkpoint import find_weights_file, load_into, load_state_dict

from .base import VideoFeatureExtractor, as_unit_range, resize_shorter_side_center_crop, resolve_weights

CLIP_WEIGHTS_HINT = (
    'CLIP similarity needs a local transformers CLIP folder (config.json, model.safetensors, '
    'tokenizer files), e.g. `huggingface-cli download openai/clip-vit-base-patch32 --local-dir '
    '<folder>` run by you; name the folder (extractor=dict(type="CLIP", weights=<folder>)).')
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ByteTokenizer:
    """Stand-in tokenizer for random-weight CLIP (tests, timing): UTF-8 bytes as token ids."""

    def __init__(self, vocab_size: int, max_length: int = 77) -> None:
        self.bos, self.eos, self.max_length = vocab_size - 2, vocab_size - 1, max_length
        self.vocab_size = vocab_size

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        rows = []
        for text in texts:
            ids = [b % (self.vocab_size - 3) + 1 for b in text.encode()][:self.max_length - 2]
            ids = [self.bos] + ids + [self.eos]
            rows.append(ids + [self.eos] * (self.max_length - len(ids)))
        return torch.tensor(rows)


def tiny_clip_config():
    """A small random CLIP for tests and timing (32x32 images, width 32)."""
    from transformers import CLIPConfig
    common = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    return CLIPConfig(
        text_config=dict(common, vocab_size=259, max_position_embeddings=77, bos_token_id=257,
                         eos_token_id=258, pad_token_id=258),
        vision_config=dict(common, image_size=32, patch_size=8), projection_dim=16)


@FEATURE_EXTRACTORS.register_module(name='CLIP')
class CLIPExtractor(VideoFeatureExtractor):
    """Frame embeddings ``(B, F, D)`` and prompt embeddings ``(B, D)``, L2-normalised.

    Frames: shorter side resized to the model's input size (bicubic), centre-cropped,
    normalised with CLIP's mean / std (from ``preprocessor_config.json`` when present).

    Args:
        weights: a local transformers CLIP folder (``local_files_only``; never downloads).
        allow_random_weights: only with ``weights=None``: a tiny random CLIP (tests).
        frame_stride: embed every ``frame_stride``-th frame.
        random_config: with random weights, a ``CLIPConfig`` dict instead of the tiny one
            (``{}`` gives ViT-B/32 sizes, for timing).
    """
    name = 'clip'
    frame_level = True

    def __init__(self, weights: Optional[str] = None, allow_random_weights: bool = False,
                 frame_stride: int = 1, batch_frames: int = 64,
                 random_config: Optional[dict] = None) -> None:
        super().__init__()
        from transformers import AutoTokenizer, CLIPConfig, CLIPModel
        self.frame_stride, self.batch_frames = frame_stride, batch_frames
        folder = resolve_weights(weights, allow_random_weights, 'CLIP', CLIP_WEIGHTS_HINT)
        self.random_weights = folder is None
        self.mean, self.std = CLIP_MEAN, CLIP_STD
        if folder is None:
            config = tiny_clip_config() if random_config is None else CLIPConfig(**random_config)
            self.model = CLIPModel(config)
            self.tokenizer = ByteTokenizer(self.model.config.text_config.vocab_size)
        else:
            config = CLIPConfig.from_pretrained(folder, local_files_only=True)
            self.model = CLIPModel(config)
            path = find_weights_file(folder, ['model.safetensors', 'pytorch_model.bin'],
                                     CLIP_WEIGHTS_HINT)
            state_dict = load_state_dict(path, hint=CLIP_WEIGHTS_HINT)
            own = self.model.state_dict()
            # older exports carry position_ids buffers that newer transformers no longer keep
            state_dict = {k: v for k, v in state_dict.items()
                          if k in own or not k.endswith('position_ids')}
            load_into(self.model, state_dict, source=path, allow_missing=('position_ids',))
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self._read_preprocessor_config(folder)
        self.image_size = self.model.config.vision_config.image_size
        self.feature_dim = self.model.config.projection_dim
        self.weights_name = 'tiny random' if folder is None else osp.basename(osp.normpath(folder))
        self.freeze()

    def _read_preprocessor_config(self, folder: str) -> None:
        path = osp.join(folder, 'preprocessor_config.json')
        if osp.isfile(path):
            with open(path) as f:
                config = json.load(f)
            self.mean = tuple(config.get('image_mean', self.mean))
            self.std = tuple(config.get('image_std', self.std))

    def describe_preprocessing(self) -> str:
        return f'{self.weights_name}, {self.image_size}px, every {self.frame_stride}. frame'

    @staticmethod
    def _pooled(output) -> torch.Tensor:
        # transformers >= 5 returns a model output whose pooler_output is the projection
        return output if torch.is_tensor(output) else output.pooler_output

    @torch.no_grad()
    def encode_text(self, captions: List[str]) -> torch.Tensor:
        """``captions`` -> ``(B, D)`` unit vectors."""
        if isinstance(self.tokenizer, ByteTokenizer):
            input_ids, attention_mask = self.tokenizer(captions), None
        else:
            tokens = self.tokenizer(list(captions), padding='max_length', truncation=True,
                                    max_length=self.tokenizer.model_max_length, return_tensors='pt')
            input_ids, attention_mask = tokens.input_ids, tokens.attention_mask
            attention_mask = attention_mask.to(self.device)
        embeds = self._pooled(self.model.get_text_features(
            input_ids=input_ids.to(self.device), attention_mask=attention_mask))
        return F.normalize(embeds.float(), dim=-1)

    def preprocess_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in ``[0, 1]`` -> CLIP input ``(N, 3, S, S)``."""
        frames = resize_shorter_side_center_crop(frames, self.image_size, mode='bicubic',
                                                 align_corners=False, antialias=True)
        mean = torch.tensor(self.mean, device=frames.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=frames.device).view(1, 3, 1, 1)
        return (frames.clamp(0, 1) - mean) / std

    @torch.no_grad()
    def encode_video(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[0, 1]`` -> ``(B, F', D)`` unit vectors."""
        videos = as_unit_range(videos.to(self.device))[:, :, ::self.frame_stride]
        batch, _, frames = videos.shape[:3]
        flat = videos.transpose(1, 2).reshape(batch * frames, 3, *videos.shape[-2:])
        embeds = [self._pooled(self.model.get_image_features(
            pixel_values=self.preprocess_frames(chunk))) for chunk in flat.split(self.batch_frames)]
        return F.normalize(torch.cat(embeds).float(), dim=-1).view(batch, frames, -1)

    extract_features = encode_video
