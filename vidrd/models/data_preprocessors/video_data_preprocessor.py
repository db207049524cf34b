"""Batch videos for the model: stack, move to the device, check the layout."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from vidrd.registry import MODELS


@MODELS.register_module()
class VideoDataPreprocessor(BaseDataPreprocessor):
    """``data['inputs']``: a (B, 3, F, H, W) tensor or a list of (3, F, H, W) tensors in [-1, 1]
    (``default_collate`` / ``pseudo_collate``) -> one float (B, 3, F, H, W) tensor on the model's
    device. Data samples pass through (moved to the device). Prompt-only batches (test-time
    generation from captions) have no ``inputs``. Cached latents (``PackLatentInputs``) come as
    a dict of batched tensors (``latent_moments``, ``text_embedding``) and pass through as float.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data.get('inputs')
        if isinstance(inputs, dict):
            inputs = {k: (torch.stack(list(v)) if isinstance(v, (list, tuple)) else v).float()
                      for k, v in inputs.items()}
            return dict(inputs=inputs, data_samples=data.get('data_samples'))
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs)) if len(inputs) else None
        if inputs is not None:
            if inputs.dim() != 5 or inputs.shape[1] != 3:
                raise ValueError('VideoDataPreprocessor: inputs must be (B, 3, F, H, W) videos, '
                                 f'got {tuple(inputs.shape)}; check the pipeline ends with '
                                 'PackVideoInputs')
            inputs = inputs.float()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
