"""Several datasets as one: plain concatenation or a seeded weighted mix (VidRD's composed data:
video-text, action-recognition videos and image pseudo-videos together)."""
from typing import List, Optional, Sequence, Union

import numpy as np
from torch.utils.data import Dataset

from vidrd.registry import DATASETS
from vidrd.utils.errors import DataError, InvalidValueError


def _build(dataset):
    return DATASETS.build(dataset) if isinstance(dataset, dict) else dataset


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind='stable')[:total - counts.sum()]] += 1
    return counts


def weighted_mix(lengths: Sequence[int], weights: Sequence[float], total: int,
                 rng: np.random.Generator, shuffle: bool = True) -> np.ndarray:
    """(total, 2) int64 rows (dataset, sample): dataset ``d`` gets exactly its
    largest-remainder share of ``total``, its samples drawn in random passes without repeats
    within a pass (a small dataset is oversampled, a large one subsampled)."""
    counts = _largest_remainder(np.asarray(weights, dtype=np.float64), int(total))
    parts = []
    for d, (count, length) in enumerate(zip(counts.tolist(), lengths)):
        rounds = -(-count // length) if count else 0
        order = np.concatenate([rng.permutation(length) for _ in range(rounds)] or
                               [np.zeros(0, np.int64)])[:count]
        parts.append(np.stack([np.full(count, d), order], axis=1))
    index = np.concatenate(parts).astype(np.int64)
    if shuffle:
        index = index[rng.permutation(len(index))]
    return index


@DATASETS.register_module()
class MixedDataset(Dataset):
    """Concatenation or weighted mix of datasets.

    Args:
        datasets: dataset configs (built from DATASETS) or built datasets.
        weights: ``None`` concatenates every sample of every dataset once. Otherwise one weight
            per dataset: of the ``num_samples`` samples of an epoch, dataset ``d`` gives exactly
            ``round(w_d / sum(w) * num_samples)`` (largest-remainder rounding), drawing its
            samples in a seeded random order without repeats until it is exhausted (then it starts
            a new order), so a small dataset is oversampled and a large one subsampled.
        num_samples: length of the mixed dataset (weighted mode); default the sum of the lengths.
        seed: seed of the mix; the same seed gives the same index list.
        shuffle: interleave the datasets' samples in a seeded random order (weighted mode);
            ``False`` keeps them in blocks, dataset after dataset.

    ``get_source(idx)`` tells which dataset and index an item comes from. The mix is fixed for
    the whole run; for a fresh draw every epoch, concatenate (``weights=None``) and use
    ``WeightedDatasetSampler``.
    """

    def __init__(self,
                 datasets: Sequence[Union[dict, Dataset]],
                 weights: Optional[Sequence[float]] = None,
                 num_samples: Optional[int] = None,
                 seed: int = 0,
                 shuffle: bool = True,
                 lazy_init: bool = False):
        if not datasets:
            raise InvalidValueError('MixedDataset needs at least one dataset')
        self.datasets: List[Dataset] = [_build(d) for d in datasets]
        if weights is not None:
            weights = [float(w) for w in weights]
            if len(weights) != len(self.datasets):
                raise InvalidValueError(f'{len(weights)} weights for {len(self.datasets)} datasets')
            if min(weights) < 0 or sum(weights) <= 0:
                raise InvalidValueError(
                    f'weights must be non-negative with a positive sum, got {weights}')
        self.weights = weights
        self.num_samples = num_samples
        self.seed = seed
        self.shuffle = shuffle
        self._index: Optional[np.ndarray] = None  # (N, 2): dataset, sample
        self._metainfo = dict(datasets=[type(d).__name__ for d in self.datasets],
                              weights=weights)
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return dict(self._metainfo)

    def full_init(self) -> None:
        if self._index is not None:
            return
        for dataset in self.datasets:
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
        lengths = [len(d) for d in self.datasets]
        for dataset, length in zip(self.datasets, lengths):
            if length == 0:
                raise DataError(f'MixedDataset: {type(dataset).__name__} is empty')
        if self.weights is None:
            self._index = np.concatenate([
                np.stack([np.full(n, d), np.arange(n)], axis=1) for d, n in enumerate(lengths)])
            return
        total = self.num_samples if self.num_samples is not None else sum(lengths)
        self._index = weighted_mix(lengths, self.weights, total,
                                   np.random.default_rng(self.seed), self.shuffle)

    def __len__(self) -> int:
        self.full_init()
        return len(self._index)

    def get_source(self, idx: int):
        """(dataset position, sample index in that dataset) of item ``idx``."""
        self.full_init()
        dataset, sample = self._index[idx].tolist()
        return dataset, sample

    def get_data_info(self, idx: int) -> dict:
        dataset, sample = self.get_source(idx)
        return self.datasets[dataset].get_data_info(sample)

    def __getitem__(self, idx: int):
        dataset, sample = self.get_source(idx)
        return self.datasets[dataset][sample]

    def counts(self) -> List[int]:
        """Number of items of each dataset in the mix."""
        self.full_init()
        return np.bincount(self._index[:, 0], minlength=len(self.datasets)).tolist()

    @property
    def bad_samples(self):
        """The children's ``BadSampleCounter``s (those that have one)."""
        return [d.bad_samples for d in self.datasets if hasattr(d, 'bad_samples')]
