"""The embedded default really learns (reduced size): after a short training run, videos
generated for held-out prompts show the named colour far above chance."""
import os.path as osp

import pytest

from vidrd.apis.run_config import build_runner, load_config

TINY = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'vidrd_tiny_shapes.py')


@pytest.mark.slow
def test_short_training_generates_the_named_colour(tmp_path):
    options = {
        'train_cfg.max_iters': 400,
        'param_scheduler.1.end': 400,
        'default_hooks.checkpoint.interval': 400,
        'default_hooks.logger.interval': 100,
        'custom_hooks': [dict(type='IterationSeedHook')],
        'test_dataloader.dataset.num_samples': 16,
        'test_evaluator': [dict(type='ShapesAttributeAccuracy')],
        'log_level': 'WARNING',
    }
    cfg = load_config(TINY, options, work_dir=str(tmp_path))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    # chance: 1/4 for colour; the demo (1200 iterations) reaches ~0.9
    assert metrics['shapes/color'] >= 0.6, metrics
