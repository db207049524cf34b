"""Shared test settings.

Reference fixtures of the original implementation live outside the repo; their folder is
``$VIDRD_FIXTURES`` (default ``../shared/fixtures`` next to the repo). Where they are absent the
tests that need them skip, unless ``VIDRD_REQUIRE_FIXTURES=1`` (set by ``.ci/run``), where their
absence is a failure.
"""
import json
import os
import os.path as osp
import string

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.abspath(os.environ.get('VIDRD_FIXTURES', osp.join(REPO_ROOT, '..', 'shared', 'fixtures')))
REFERENCE = osp.join(FIXTURES, 'vidrd_reference')

# tiny models: a second thread costs more in synchronisation than it gains
torch.set_num_threads(1)


@pytest.fixture(scope='session')
def reference_dir() -> str:
    """Folder of the original implementation's tiny models and outputs."""
    if not osp.isdir(REFERENCE):
        msg = f'reference fixtures not found at {REFERENCE} (set VIDRD_FIXTURES)'
        if os.environ.get('VIDRD_REQUIRE_FIXTURES') == '1':
            pytest.fail(msg)
        pytest.skip(msg)
    return REFERENCE


#: overrides that shrink configs/vidrd_tiny_shapes.py to a model and data that train in
#: well under a second per iteration (for tests of the training machinery, not of learning)
TINY_TRAINING_OPTIONS = {
    'model.unet.block_out_channels': (32, 32),
    'model.unet.num_attention_heads': (2, 2),
    'model.unet.cross_attention_dim': 32,
    'model.unet.in_channels': 48,
    'model.unet.out_channels': 48,
    'model.vae.factor': 4,
    'model.text_encoder.config.hidden_size': 32,
    'model.text_encoder.config.intermediate_size': 64,
    'model.num_frames': 4,
    'model.resolution': (16, 16),
    'model.long_video_sampler.num_frames': 4,
    'model.long_video_sampler.num_inference_steps': 2,
    'train_dataloader.batch_size': 2,
    'train_dataloader.dataset.num_frames': 4,
    'train_dataloader.dataset.size': 16,
    'train_dataloader.dataset.num_samples': 16,
    'test_dataloader.batch_size': 2,
    'test_dataloader.dataset.num_frames': 4,
    'test_dataloader.dataset.size': 16,
    'test_dataloader.dataset.num_samples': 4,
    'default_hooks.logger.interval': 1,
    'custom_hooks': [dict(type='TrainableCheckpointHook'), dict(type='IterationSeedHook')],
    'log_level': 'WARNING',
}


@pytest.fixture(scope='session')
def tiny_training_options():
    """TINY_TRAINING_OPTIONS (a copy) for module- and session-scoped fixtures."""
    import copy
    return copy.deepcopy(TINY_TRAINING_OPTIONS)


@pytest.fixture
def tiny_config_options():
    """A fresh copy of TINY_TRAINING_OPTIONS for ``load_config(..., cfg_options=...)``."""
    import copy
    return copy.deepcopy(TINY_TRAINING_OPTIONS)


@pytest.fixture(scope='module')
def tiny_config_options_module():
    """TINY_TRAINING_OPTIONS for module-scoped fixtures (a copy per test module)."""
    import copy
    return copy.deepcopy(TINY_TRAINING_OPTIONS)


def write_tiny_clip_tokenizer(folder) -> dict:
    """A tiny CLIP BPE tokenizer folder laid out like SD-2.1's: single letters (word-inner and word-final) plus the merges r+e -> re, re+d</w> -> red</w>.

    Returns the vocabulary (token -> id).
    """
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {'<|startoftext|>': 0, '<|endoftext|>': 1}
    for suffix in ('', '</w>'):
        for letter in string.ascii_lowercase:
            vocab[letter + suffix] = len(vocab)
    vocab['re'] = len(vocab)
    vocab['red</w>'] = len(vocab)
    (folder / 'vocab.json').write_text(json.dumps(vocab))
    (folder / 'merges.txt').write_text('#version: 0.2\nr e\nre d</w>\n')
    return vocab


@pytest.fixture
def tiny_clip_tokenizer(tmp_path):
    """(folder, vocab) of a freshly written tokenizer folder ``tmp_path/tokenizer``."""
    folder = tmp_path / 'tokenizer'
    return folder, write_tiny_clip_tokenizer(folder)
