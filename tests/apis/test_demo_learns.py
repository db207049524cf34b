"""The embedded default really learns (reduced size): after a short training run, videos
generated for held-out prompts show the named colour, shape and direction far above chance, and FVD / IS
rank real clips, the trained model and an untrained one in that order."""
import os.path as osp

import pytest

from vidrd.apis.metric_ordering import shapes_metric_ordering
from vidrd.apis.run_config import build_runner, load_config
from vidrd.evaluation.feature_extractors.shapes_classifier import train_shapes_classifier
from vidrd.registry import DATASETS

TINY = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'vidrd_tiny_shapes.py')
ITERATIONS = 500


@pytest.mark.slow
def test_short_training_learns_held_out_prompts_and_metrics_rank_it(tmp_path):
    options = {
        'train_cfg.max_iters': ITERATIONS,
        'param_scheduler.1.end': ITERATIONS,
        'default_hooks.checkpoint.interval': ITERATIONS,
        'default_hooks.logger.interval': 100,
        'custom_hooks': [dict(type='IterationSeedHook')],
        'test_dataloader.dataset.num_samples': 32,
        'test_evaluator': [dict(type='ShapesAttributeAccuracy')],
        'log_level': 'WARNING',
    }
    cfg = load_config(TINY, options, work_dir=str(tmp_path))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    print(metrics)
    # chance: 1/4 for colour and direction, 1/3 for shape
    assert metrics['shapes/color'] >= 0.6, metrics
    assert metrics['shapes/direction'] >= 0.5, metrics
    assert metrics['shapes/shape'] >= 0.5, metrics

    data_cfg = dict(cfg.train_dataloader.dataset, pipeline=[])
    classifier = str(tmp_path / 'shapes_classifier.safetensors')
    train_shapes_classifier(DATASETS.build(dict(data_cfg, split='all', num_samples=512, seed=5)),
                            out=classifier, iterations=150)
    table = shapes_metric_ordering(cfg, runner.model, classifier)
    assert table['ordered'] == dict(fvd=True, inception_score=True), table
