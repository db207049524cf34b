import numpy as np
import pytest

from vidrd.datasets import MixedDataset, MovingShapesDataset
from vidrd.registry import DATASETS

PIPELINE = [dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]


def _shapes(num_samples, color):
    return dict(type='MovingShapesDataset', num_samples=num_samples, num_frames=2, size=16,
                colors=[color], pipeline=PIPELINE)


def test_concatenation_keeps_every_sample_once():
    mixed = MixedDataset([_shapes(3, 'red'), _shapes(5, 'blue')])
    assert len(mixed) == 8 and mixed.counts() == [3, 5]
    assert [mixed.get_source(i) for i in (0, 2, 3, 7)] == [(0, 0), (0, 2), (1, 0), (1, 4)]
    assert mixed[4]['data_samples'].color == 'blue'


def test_weights_give_exact_proportions_and_seeded_order():
    config = dict(type='MixedDataset', datasets=[_shapes(4, 'red'), _shapes(100, 'blue')],
                  weights=[3, 1], num_samples=40, seed=1)
    mixed = DATASETS.build(config)
    assert len(mixed) == 40 and mixed.counts() == [30, 10]
    sources = [mixed.get_source(i) for i in range(40)]
    small = [s for d, s in sources if d == 0]
    # The small dataset is oversampled in whole passes: each of its 4 samples 7 or 8 times.
    assert sorted(np.bincount(small).tolist()) == [7, 7, 8, 8]
    large = [s for d, s in sources if d == 1]
    assert len(set(large)) == 10  # subsampled without repeats
    assert DATASETS.build(config)._index.tolist() == mixed._index.tolist()
    other = DATASETS.build(dict(config, seed=2))
    assert other._index.tolist() != mixed._index.tolist()
    colours = [mixed[i]['data_samples'].color for i in range(40)]
    assert colours.count('red') == 30


def test_accepts_built_datasets_and_checks_weights():
    datasets = [MovingShapesDataset(num_samples=2, num_frames=2, size=8)]
    assert len(MixedDataset(datasets, weights=[1.0])) == 2
    with pytest.raises(ValueError, match='2 weights for 1 datasets'):
        MixedDataset(datasets, weights=[1, 1])
    with pytest.raises(ValueError, match='non-negative'):
        MixedDataset(datasets, weights=[-1])


def test_weighted_sampler_fresh_mix_each_epoch_and_rank_split(monkeypatch):
    from vidrd.datasets import weighted_dataset_sampler as module
    from vidrd.registry import DATA_SAMPLERS
    mixed = MixedDataset([_shapes(4, 'red'), _shapes(20, 'blue')])  # concatenation
    sampler = DATA_SAMPLERS.build(dict(type='WeightedDatasetSampler', weights=[1, 1],
                                       num_samples=10), default_args=dict(dataset=mixed, seed=0))
    first = list(sampler)
    assert len(first) == 10 and sum(i < 4 for i in first) == 5
    sampler.set_epoch(1)
    second = list(sampler)
    assert sum(i < 4 for i in second) == 5 and second != first
    assert mixed[first[0]]['data_samples'].color == ('red' if first[0] < 4 else 'blue')
    # Two ranks split one epoch's draw between them.
    parts = []
    for rank in range(2):
        monkeypatch.setattr(module, 'get_dist_info', lambda rank=rank: (rank, 2))
        ranked = module.WeightedDatasetSampler(mixed, weights=[1, 1], num_samples=10, seed=0)
        parts.append(list(ranked))
    assert len(parts[0]) == len(parts[1]) == 5
    assert sorted(parts[0] + parts[1]) == sorted(first)
    with pytest.raises(ValueError, match='weights=None'):
        module.WeightedDatasetSampler(MixedDataset([_shapes(2, 'red')], weights=[1]), [1], seed=0)
