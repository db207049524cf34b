"""Shared settings of the plugin tests: the example plugins are put on ``sys.path`` (as
``pip install -e plugins/<name>`` would, without a network or a build) and configs are shrunk
to a model that runs in well under a second per step."""
import copy
import os.path as osp
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PLUGINS = osp.join(REPO, 'plugins')

#: shrinks configs/vidrd_tiny_shapes.py (and the plugin configs inheriting it): 32 channels,
#: 16x16 frames -> 4x4x48 latents, 4 frames, 2 DDIM steps, no validation / test loops
SMALL_OPTIONS = {
    'model.unet.block_out_channels': (32, 32),
    'model.unet.num_attention_heads': (2, 2),
    'model.unet.cross_attention_dim': 32,
    'model.unet.in_channels': 48,
    'model.unet.out_channels': 48,
    'model.vae.factor': 4,
    'model.text_encoder.config.hidden_size': 32,
    'model.text_encoder.config.intermediate_size': 64,
    'model.text_encoder.config.num_hidden_layers': 1,
    'model.num_frames': 4,
    'model.resolution': (16, 16),
    'model.long_video_sampler.num_frames': 4,
    'model.long_video_sampler.num_inference_steps': 2,
    'train_dataloader.batch_size': 2,
    'train_dataloader.dataset.num_frames': 4,
    'train_dataloader.dataset.size': 16,
    'train_dataloader.dataset.num_samples': 8,
    'train_cfg.max_iters': 2,
    'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
    'test_dataloader': None, 'test_cfg': None, 'test_evaluator': None,
    'default_hooks.checkpoint.interval': 1000,
    'default_hooks.logger.interval': 1,
    'custom_hooks': [dict(type='TrainableCheckpointHook'), dict(type='IterationSeedHook')],
    'log_level': 'WARNING',
}


@pytest.fixture(scope='session', autouse=True)
def plugins_on_path():
    """Both example plugins importable by their package names."""
    for name in ('vidrd_freenoise', 'vidrd_animatediff'):
        folder = osp.join(PLUGINS, name)
        if folder not in sys.path:
            sys.path.insert(0, folder)
    return PLUGINS


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these models are tiny, and on a shared, loaded CPU a second
    spinning thread makes them many times slower, not faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small_options():
    return copy.deepcopy(SMALL_OPTIONS)

