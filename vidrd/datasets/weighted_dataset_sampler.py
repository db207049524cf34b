"""A sampler that mixes the datasets of a concatenation by weight, with a fresh draw every epoch."""
from typing import Iterator, Optional, Sequence

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from vidrd.registry import DATA_SAMPLERS
from .mixed_dataset import weighted_mix
from vidrd.utils.errors import InvalidValueError


@DATA_SAMPLERS.register_module()
class WeightedDatasetSampler(Sampler):
    """Draw indices of a concatenated dataset so each part gets a share set by ``weights``.

    Use with ``MixedDataset(weights=None)`` (or mmengine's ``ConcatDataset``): each epoch draws
    ``num_samples`` indices, dataset ``d`` exactly ``round(w_d / sum(w) * num_samples)`` of them
    (in passes without repeats), shuffled with ``(seed, epoch)``; under DDP each rank takes every
    ``world_size``-th index (the list is padded by wrapping so ranks get equal counts).

    Args:
        dataset: a dataset with ``.datasets`` (the parts, in concatenation order).
        weights: one weight per part.
        num_samples: indices per epoch over all ranks; default the dataset's length.
        seed: shared by all ranks; ``None`` draws one and broadcasts it (mmengine's convention).
    """

    def __init__(self, dataset, weights: Sequence[float], num_samples: Optional[int] = None,
                 seed: Optional[int] = None):
        parts = getattr(dataset, 'datasets', None)
        if parts is None:
            raise TypeError('WeightedDatasetSampler needs a concatenated dataset with .datasets '
                            '(MixedDataset with weights=None, or ConcatDataset)')
        if getattr(dataset, 'weights', None) is not None:
            raise InvalidValueError(
                'the MixedDataset already mixes by weight; set its weights=None '
                'when sampling with WeightedDatasetSampler')
        if len(weights) != len(parts):
            raise InvalidValueError(f'{len(weights)} weights for {len(parts)} datasets')
        if min(weights) < 0 or sum(weights) <= 0:
            raise InvalidValueError(
                f'weights must be non-negative with a positive sum, got {weights}')
        self.lengths = [len(part) for part in parts]
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.weights = [float(w) for w in weights]
        self.num_samples = int(num_samples) if num_samples is not None else len(dataset)
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

    def _epoch_indices(self) -> np.ndarray:
        rng = np.random.default_rng((self.seed, self.epoch))
        mix = weighted_mix(self.lengths, self.weights, self.num_samples, rng, shuffle=True)
        return self.offsets[mix[:, 0]] + mix[:, 1]

    def __iter__(self) -> Iterator[int]:
        indices = self._epoch_indices()
        per_rank = len(self)
        total = per_rank * self.world_size
        if total > len(indices):
            indices = np.resize(indices, total)  # wrap around so every rank gets per_rank
        return iter(indices[self.rank:total:self.world_size].tolist())

    def __len__(self) -> int:
        return -(-self.num_samples // self.world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
