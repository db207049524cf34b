"""The in-domain accuracy metric on real and wrongly captioned moving-shapes clips."""
from vidrd.registry import DATASETS, METRICS


def _samples(n=12):
    dataset = DATASETS.build(dict(type='MovingShapesDataset', num_frames=8, size=32,
                                  num_samples=n, split='all', seed=3,
                                  pipeline=[dict(type='NormalizeVideo'),
                                            dict(type='PackVideoInputs')]))
    samples = []
    for k in range(n):
        item = dataset[k]
        samples.append(dict(video=item['inputs'], caption=item['data_samples'].caption))
    return samples


def test_true_captions_score_high_and_wrong_ones_low():
    metric = METRICS.build(dict(type='ShapesAttributeAccuracy'))
    samples = _samples()
    metric.process(None, samples)
    scores = metric.compute_metrics(metric.results)
    assert scores['color'] == 1.0 and scores['direction'] == 1.0 and scores['joint'] >= 0.9

    flipped = {'left': 'right', 'right': 'left', 'up': 'down', 'down': 'up'}
    wrong = [dict(s, caption=' '.join(s['caption'].split()[:-1] + [flipped[s['caption'].split()[-1]]]))
             for s in samples]
    metric = METRICS.build(dict(type='ShapesAttributeAccuracy'))
    metric.process(None, wrong)
    scores = metric.compute_metrics(metric.results)
    assert scores['direction'] == 0.0 and scores['color'] == 1.0
