"""The embedded default really learns: after the tiny config's training (the demo's, without its
extras), videos generated for held-out prompts show the named colour, shape and direction far
above chance, FVD / IS rank real clips, the trained model and an untrained one in that order,
long videos of Reuse and Diffuse jump less at clip boundaries than independent clips, and the
model's own long-video sampler (FIFO-Diffusion) makes long videos that continue.

Shape is learned last (with clips at any offset, held-out shape 0.63-0.75 after 2400 iterations
on 8 clips, 0.84 on the demo's 32), so this test trains the full schedule: about 10 minutes on
2 CPU cores."""
import os.path as osp

import pytest
import torch

from vidrd.apis.long_video_ablation import (continuation_failures, load_sampler_configs,
                                            run_long_video_ablation)
from vidrd.apis.metric_ordering import shapes_metric_ordering
from vidrd.apis.run_config import build_runner, load_config
from vidrd.evaluation.feature_extractors.shapes_classifier import train_shapes_classifier
from vidrd.registry import DATASETS

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
TINY = osp.join(CONFIGS, 'vidrd_tiny_shapes.py')
TINY_SAMPLERS = osp.join(CONFIGS, 'ablations', 'tiny_shapes')


@pytest.fixture
def all_threads():
    """This model is big enough to gain from a second thread (tests default to one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.whole_cpu
def test_training_learns_held_out_prompts_and_metrics_rank_it(tmp_path, all_threads):
    options = {
        'default_hooks.checkpoint.interval': 100_000,
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
    assert metrics['shapes/color'] >= 0.8, metrics
    assert metrics['shapes/direction'] >= 0.8, metrics
    assert metrics['shapes/shape'] >= 0.6, metrics

    data_cfg = dict(cfg.train_dataloader.dataset, pipeline=[])
    classifier = str(tmp_path / 'shapes_classifier.safetensors')
    train_shapes_classifier(DATASETS.build(dict(data_cfg, split='all', num_samples=512, seed=5)),
                            out=classifier, iterations=150)
    table = shapes_metric_ordering(cfg, runner.model, classifier)
    assert table['ordered'] == dict(fvd=True, inception_score=True), table

    # long videos of 3 clips, two per held-out prompt (two batches, two seeds): Reuse and
    # Diffuse ties the clips together better than independent clips, and every clip keeps the
    # prompt's colour and mostly its direction. (The targets, a boundary ratio <= 1.5,
    # no repeated clip and direction >= 0.9 in every clip, are not reached by this model:
    # docs/long_videos_on_the_demo.md. Demo model: 3.03 against 4.12, direction >= 0.88.)
    samplers = load_sampler_configs(TINY_SAMPLERS, ['vidrd_full', 'independent_clips'])
    prompts = runner.test_dataloader.dataset.heldout_prompts() * 2
    model = runner.model.eval()
    ablation = run_long_video_ablation(model, prompts, samplers, num_clips=3).scores
    print(ablation)
    full, independent = ablation['vidrd_full'], ablation['independent_clips']
    assert full['boundary_ratio'] < independent['boundary_ratio'], ablation
    assert full['color_min_over_clips'] >= 0.9, full
    assert full['direction_clip0'] >= 0.8 and full['direction_min_over_clips'] >= 0.75, full

    # the model's own sampler continues, over 3 and 6 clips of 16 videos: boundary ratio
    # <= 1.5, direction >= 0.9 and colour 1.0 in every clip, no repeated or reversed clip,
    # one shape in >= 95% of frames (demo model: 0.99-1.08, 1.0, 1.0, 0, 0, 100% at 4 seeds)
    for clips in (3, 6):
        scores = run_long_video_ablation(model, prompts, {'default': model.sampler},
                                         num_clips=clips).scores['default']
        print(clips, scores)
        assert not continuation_failures(scores), (clips, scores)
