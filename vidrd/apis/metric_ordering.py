"""Do FVD and IS rank real clips, a trained model and an untrained one as they should?

The sanity check of an evaluation set-up (issue: evaluation): with one feature network,
FVD(real, another draw of real) < FVD(real, trained) < FVD(real, untrained), and the Inception
Score ordered the other way. Used by the demo, ``benchmarks/demo_fvd_ordering.py`` and the
tests, on the moving-shapes domain with its in-domain classifier.
"""
from typing import Dict, List, Sequence

import torch

from vidrd.registry import METRICS


@torch.no_grad()
def generate_for_dataset(model, dataset, batch_size: int = 8) -> List[dict]:
    """``dict(video, gt_video)`` per clip of ``dataset``: the model's video (3, F, H, W) in
    [-1, 1] for the clip's caption, and the real clip."""
    model.eval()
    samples = []
    for start in range(0, len(dataset), batch_size):
        batch = [dataset[k] for k in range(start, min(start + batch_size, len(dataset)))]
        data = model.data_preprocessor(dict(inputs=[b['inputs'] for b in batch],
                                            data_samples=[b['data_samples'] for b in batch]))
        for sample in model(**data, mode='predict'):
            samples.append(dict(video=sample.video, gt_video=sample.gt_video))
    return samples


def real_pairs(dataset, other) -> List[dict]:
    """``dict(video=other clip k, gt_video=dataset clip k)``: real against real."""
    return [dict(video=other[k]['inputs'], gt_video=dataset[k]['inputs'])
            for k in range(len(dataset))]


def score_samples(samples: Sequence[dict], extractor: dict,
                  num_splits: int = 1) -> Dict[str, float]:
    """FVD (``video`` against ``gt_video``) and IS (of ``video``) with one feature network."""
    scores = {}
    for cfg in (dict(type='FrechetVideoDistance'),
                dict(type='InceptionScore', num_splits=num_splits)):
        metric = METRICS.build(dict(cfg, extractor=extractor))
        metric.process(None, list(samples))
        scores.update(metric.compute_metrics(metric.results))
    return scores


def metric_ordering(rows: Dict[str, Sequence[dict]], extractor: dict,
                    num_splits: int = 1) -> Dict[str, Dict[str, float]]:
    """Scores of each row (``'real'``, ``'trained'``, ``'untrained'``) and whether FVD rises
    and IS falls in that order (``ordered``)."""
    table = {name: score_samples(samples, extractor, num_splits) for name, samples in rows.items()}
    names = ('real', 'trained', 'untrained')
    fvd = [table[n]['FVD'] for n in names]
    inception = [table[n]['IS'] for n in names]
    table['ordered'] = dict(fvd=bool(fvd[0] < fvd[1] < fvd[2]),
                            inception_score=bool(inception[0] > inception[1] > inception[2]))
    return table


def shapes_metric_ordering(cfg, trained_model, classifier: str, samples_per_combination: int = 1,
                           seed: int = 0) -> Dict[str, Dict[str, float]]:
    """:func:`metric_ordering` on the moving-shapes domain of a tiny config ``cfg``: prompts of
    every colour x shape x direction combination (so real clips span all classes the IS
    classifier knows), the in-domain classifier at ``classifier`` as the feature network, and
    an untrained model built from ``cfg.model``."""
    from vidrd.registry import DATASETS, MODELS
    data_cfg = dict(cfg.test_dataloader.dataset)
    combinations = DATASETS.build(dict(data_cfg, split='all', num_samples=1)).combinations
    data_cfg.update(split='all', num_samples=len(combinations) * samples_per_combination)
    dataset = DATASETS.build(dict(data_cfg, seed=seed))
    other = DATASETS.build(dict(data_cfg, seed=seed + 1))
    torch.manual_seed(seed)
    untrained = MODELS.build(cfg.model).to(next(trained_model.parameters()).device)
    rows = dict(real=real_pairs(dataset, other),
                trained=generate_for_dataset(trained_model, dataset),
                untrained=generate_for_dataset(untrained, dataset))
    return metric_ordering(rows, dict(type='ShapesClassifier', weights=classifier))
