"""Inception Score: the split computation against a direct numpy transcription, and the metric."""
import numpy as np
import pytest
import torch

from vidrd.evaluation.metrics import InceptionScore, inception_score


def _direct_is(probs, splits):
    """IS = exp(E_x KL(p(y|x) || p(y))) per split, written out with loops."""
    n = len(probs)
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(axis=0)
        kls = [sum(p[k] * np.log(p[k] / marginal[k]) for k in range(len(p)) if p[k] > 0)
               for p in part]
        scores.append(np.exp(np.mean(kls)))
    return np.mean(scores), np.std(scores)


@pytest.mark.parametrize('n,splits', [(100, 10), (103, 10), (37, 4), (20, 1)])
def test_equals_direct_numpy(n, splits):
    rng = np.random.default_rng(n)
    logits = rng.normal(size=(n, 7)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    mean, std = inception_score(probs, splits)
    ref_mean, ref_std = _direct_is(probs, splits)
    assert mean == pytest.approx(ref_mean, rel=1e-9)
    assert std == pytest.approx(ref_std, rel=1e-7, abs=1e-12)


def test_extremes():
    one_hot = np.eye(5)[np.arange(50) % 5]
    mean, std = inception_score(one_hot, 10)
    assert mean == pytest.approx(5.0, rel=1e-9) and std == pytest.approx(0, abs=1e-9)
    uniform = np.full((50, 5), 0.2)
    assert inception_score(uniform, 10)[0] == pytest.approx(1.0)


def test_needs_enough_samples():
    with pytest.raises(ValueError, match='num_splits'):
        inception_score(np.full((5, 3), 1 / 3), 10)


class FixedClassifier(torch.nn.Module):
    """Class probabilities read off the video: softmax of its mean over (F, H, W) per channel."""
    num_classes = 3
    identity = 'fixed'

    @property
    def device(self):
        return torch.device('cpu')

    def class_probabilities(self, videos):
        return (videos.mean(dim=(2, 3, 4)) * 10).softmax(-1)


def test_metric_equals_function_on_the_same_outputs():
    metric = InceptionScore(extractor=FixedClassifier(), num_splits=4, video_range=(0, 1))
    g = torch.Generator().manual_seed(0)
    videos = [torch.rand(3, 2, 4, 4, generator=g) for _ in range(12)]
    for start in range(0, 12, 5):
        metric.process(None, [dict(video=v) for v in videos[start:start + 5]])
    result = metric.evaluate(12)
    probs = FixedClassifier().class_probabilities(torch.stack(videos)).double().numpy()
    mean, std = inception_score(probs, 4)
    assert result == {'IS': pytest.approx(mean, rel=1e-12), 'IS_std': pytest.approx(std, rel=1e-9)}


def test_metric_shuffle_seed_follows_numpy_randomstate():
    metric = InceptionScore(extractor=FixedClassifier(), num_splits=3, shuffle_seed=42,
                            video_range=(0, 1))
    g = torch.Generator().manual_seed(1)
    videos = [torch.rand(3, 2, 4, 4, generator=g) for _ in range(9)]
    metric.process(None, [dict(video=v) for v in videos])
    probs = FixedClassifier().class_probabilities(torch.stack(videos)).double().numpy()
    np.random.RandomState(42).shuffle(probs)
    assert metric.evaluate(9)['IS'] == pytest.approx(inception_score(probs, 3)[0], rel=1e-12)


def test_metric_reads_minus_one_to_one_by_default_and_checks_range():
    metric = InceptionScore(extractor=FixedClassifier(), num_splits=1)
    video = torch.rand(3, 2, 4, 4)
    metric.process(None, [dict(video=video * 2 - 1)])
    expected = FixedClassifier().class_probabilities(video[None]).double().numpy()[0]
    assert np.allclose(metric.results[0], expected, atol=1e-6)
    with pytest.raises(ValueError, match="'video' has values"):
        metric.process(None, [dict(video=video * 255)])
    with pytest.raises(KeyError, match='generated video'):
        metric.process(None, [dict(caption='x')])
