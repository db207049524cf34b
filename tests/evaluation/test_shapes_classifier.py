"""The demo's in-domain feature network: shapes, joint probabilities, safetensors round trip,
and (slow) that after a short training it orders real < corrupted < noise for FVD and the
reverse for IS."""
import pytest
import torch

from vidrd.evaluation.feature_extractors.shapes_classifier import (ShapesClassifier,
                                                                    evaluate_accuracy,
                                                                    train_shapes_classifier)
from vidrd.evaluation.metrics import FrechetVideoDistance, InceptionScore
from vidrd.utils.checkpoint import save_state_dict_atomic


def test_outputs_and_joint_probabilities():
    classifier = ShapesClassifier(weights=None, allow_random_weights=True)
    videos = torch.rand(2, 3, 8, 48, 48)  # resized to 32
    assert classifier.extract_features(videos).shape == (2, 128)
    probs = classifier.class_probabilities(videos)
    assert probs.shape == (2, 4 * 3 * 4) == (2, classifier.num_classes)
    assert torch.allclose(probs.sum(-1), torch.ones(2), atol=1e-5)
    color, shape, direction = (h.softmax(-1) for h in classifier.logits(videos))
    assert torch.allclose(probs.view(2, 4, 3, 4).sum(dim=(2, 3)), color, atol=1e-5)
    assert classifier.extract_features(torch.rand(1, 3, 1, 32, 32)).shape == (1, 128)  # one frame


def test_safetensors_round_trip(tmp_path):
    classifier = ShapesClassifier(weights=None, allow_random_weights=True, colors=('red', 'blue'),
                                  width=8, feature_dim=16)
    path = str(tmp_path / 'shapes.safetensors')
    save_state_dict_atomic(classifier.network.state_dict(), path, metadata=classifier.metadata())
    loaded = ShapesClassifier(weights=path)
    assert loaded.colors == ['red', 'blue'] and loaded.feature_dim == 16
    videos = torch.rand(2, 3, 4, 32, 32)
    assert torch.equal(loaded.extract_features(videos), classifier.extract_features(videos))
    with pytest.raises(FileNotFoundError, match='train_shapes_classifier'):
        ShapesClassifier()


def _videos(dataset, count, start=0):
    return [torch.from_numpy(dataset.render(i)).permute(3, 0, 1, 2).float() / 127.5 - 1
            for i in range(start, start + count)]


def _score(classifier, real, fake):
    fvd = FrechetVideoDistance(extractor=classifier)
    inception = InceptionScore(extractor=classifier, num_splits=2)
    samples = [dict(video=f, gt_video=r) for f, r in zip(fake, real)]
    fvd.process(None, samples)
    inception.process(None, samples)
    return fvd.evaluate(len(samples))['FVD'], inception.evaluate(len(samples))['IS']


@pytest.mark.slow
def test_short_training_orders_real_corrupted_noise(tmp_path):
    from vidrd.datasets import MovingShapesDataset
    torch.set_num_threads(1)
    common = dict(num_frames=8, size=32, split='all')
    train = MovingShapesDataset(num_samples=1024, seed=10, **common)
    val = MovingShapesDataset(num_samples=96, seed=11, **common)
    path = str(tmp_path / 'shapes.safetensors')
    classifier = train_shapes_classifier(train, path, val_dataset=val, iterations=60,
                                         batch_size=16, width=8, feature_dim=32)
    assert classifier.accuracy['color'] > 0.5  # chance: 0.25
    reloaded = ShapesClassifier(weights=path)
    assert evaluate_accuracy(reloaded, val) == pytest.approx(classifier.accuracy)

    real = _videos(val, 48)
    held_out = _videos(val, 48, start=48)
    g = torch.Generator().manual_seed(0)
    corrupted = [(v + 0.6 * torch.randn(v.shape, generator=g)).clamp(-1, 1) for v in held_out]
    noise = [torch.rand(v.shape, generator=g) * 2 - 1 for v in held_out]
    fvd_real, is_real = _score(reloaded, real, held_out)
    fvd_corrupted, is_corrupted = _score(reloaded, real, corrupted)
    fvd_noise, is_noise = _score(reloaded, real, noise)
    assert fvd_real < fvd_corrupted < fvd_noise
    assert is_real > is_noise


def test_a_config_carries_its_evaluator_and_trains_a_missing_classifier(tmp_path):
    """configs/vidrd_tiny_shapes.py: attribute accuracy, FVD and IS with the demo's classifier;
    a missing weights file is trained (as the demo does) instead of being a missing path."""
    import os.path as osp

    from vidrd.apis.run_config import load_config, missing_paths
    from vidrd.registry import METRICS
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    weights = str(tmp_path / 'classifier.safetensors')
    cfg = load_config(osp.join(repo, 'configs', 'vidrd_tiny_shapes.py'))
    assert [m['type'] for m in cfg.test_evaluator] == [
        'ShapesAttributeAccuracy', 'FrechetVideoDistance', 'InceptionScore']
    for metric in cfg.test_evaluator[1:]:
        metric.extractor.weights = weights
        metric.extractor.train_if_missing.iterations = 2
        metric.extractor.train_if_missing.dataset.update(num_frames=4, size=16)
    assert not missing_paths(cfg, sections=('test_evaluator',))
    fvd = METRICS.build(cfg.test_evaluator[1].to_dict())  # trains and writes the file
    assert osp.isfile(weights) and fvd.extractor.weights_file == weights
    inception = METRICS.build(cfg.test_evaluator[2].to_dict())  # finds it
    for name, value in fvd.extractor.network.state_dict().items():
        assert torch.equal(value, inception.extractor.network.state_dict()[name]), name
