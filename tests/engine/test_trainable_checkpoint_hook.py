"""What TrainableCheckpointHook keeps in a checkpoint."""
from types import SimpleNamespace

import torch
from torch import nn

from vidrd.engine.hooks import TrainableCheckpointHook


def _runner():
    model = nn.ModuleDict(dict(unet=nn.Linear(2, 2), text_encoder=nn.Linear(2, 2),
                               vae=nn.Linear(2, 2)))
    model.text_encoder.requires_grad_(False)
    model.vae.requires_grad_(False)
    return SimpleNamespace(model=model)


def _checkpoint(runner):
    return dict(meta={}, state_dict=dict(runner.model.state_dict()))


def test_frozen_weights_are_dropped_unless_kept():
    runner = _runner()
    ckpt = _checkpoint(runner)
    TrainableCheckpointHook().before_save_checkpoint(runner, ckpt)
    assert set(ckpt['state_dict']) == {'unet.weight', 'unet.bias'}
    assert ckpt['meta']['vidrd_frozen_keys'] == 4

    ckpt = _checkpoint(runner)
    TrainableCheckpointHook(keep_frozen=['text_encoder.']).before_save_checkpoint(runner, ckpt)
    assert set(ckpt['state_dict']) == {'unet.weight', 'unet.bias', 'text_encoder.weight',
                                       'text_encoder.bias'}


def test_loading_fills_dropped_weights_from_the_built_model():
    runner = _runner()
    ckpt = dict(state_dict={'unet.weight': torch.zeros(2, 2), 'unet.bias': torch.zeros(2)})
    TrainableCheckpointHook().after_load_checkpoint(runner, ckpt)
    assert torch.equal(ckpt['state_dict']['vae.weight'], runner.model.vae.weight)
    assert torch.equal(ckpt['state_dict']['unet.weight'], torch.zeros(2, 2))
