"""The zero-shot UCF-101 protocol of VidRD (and Make-A-Video, Video LDM): prompts to generate.

One descriptive prompt per class; about 10K videos whose classes follow the training split's
class distribution; IS (C3D) and FVD (I3D) of the generated 16-frame clips against real UCF-101
(paper: VidRD IS 39.37, FVD 363.19).

- :func:`sample_prompt_classes`: which class each of the N prompts is, from the class counts:
  largest-remainder rounding of ``N * count / total`` (the per-class counts sum exactly to N and
  follow the distribution to within one video), shuffled with ``seed``. The same rule as
  ``UCF101Dataset.zero_shot_prompts``, so both give the same list for the same seed.
- :class:`UCF101PromptDataset`: one data sample per prompt for test-time generation.

Class counts come from the argument ``class_counts`` or from the official ``trainlist0N.txt``
(``split_file``), prompts from the shipped ``vidrd/datasets/prompts/ucf101_prompts.json`` or
``prompts_file``; neither needs the videos.
"""
import os.path as osp
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from torch.utils.data import Dataset

from vidrd.registry import DATASETS
from vidrd.utils.errors import DataError, InvalidValueError


def sample_prompt_classes(class_counts: Sequence[int], num_prompts: int = 10000,
                          seed: Optional[int] = 0) -> np.ndarray:
    """Class index of each of ``num_prompts`` prompts, following ``class_counts``.

    Args:
        class_counts: videos per class in the training split, ``(K,)``.
        num_prompts: N.
        seed: the order of the prompts (``None``: grouped by class, in class order).
    Returns:
        ``(N,)`` int64 class indices.
    """
    weights = np.asarray(class_counts, dtype=np.float64)
    if weights.ndim != 1 or weights.size == 0 or (weights < 0).any() or weights.sum() == 0:
        raise InvalidValueError(
            f'class_counts must be non-negative counts, not all zero; got {class_counts}')
    exact = weights / weights.sum() * num_prompts
    per_class = np.floor(exact).astype(np.int64)
    remainder = int(num_prompts - per_class.sum())
    per_class[np.argsort(-(exact - per_class), kind='stable')[:remainder]] += 1
    labels = np.repeat(np.arange(weights.size), per_class)
    if seed is not None:
        labels = labels[np.random.default_rng(seed).permutation(labels.size)]
    return labels


def class_counts_from_split_file(path: str) -> Dict[str, int]:
    """Videos per class of an official ``trainlist0N.txt`` (``Class/v_Class_g08_c01.avi 1``)."""
    from vidrd.datasets.ucf101_dataset import read_split_list
    counts = Counter(relative.split('/')[0] for relative in read_split_list(path))
    return dict(sorted(counts.items()))


def _default_prompts_file() -> Optional[str]:
    try:
        from vidrd.datasets.ucf101_dataset import DEFAULT_PROMPTS_FILE
    except ImportError:
        return None
    return DEFAULT_PROMPTS_FILE if osp.isfile(DEFAULT_PROMPTS_FILE) else None


def _match_class(name: str, table: Mapping[str, object]):
    """``table[name]``, also when the spelling differs only in case / spaces / underscores."""
    if name in table:
        return table[name]
    def key(text: str) -> str:
        return ''.join(ch for ch in text.lower() if ch.isalnum())
    by_key = {key(k): v for k, v in table.items()}
    return by_key.get(key(name))


@DATASETS.register_module()
class UCF101PromptDataset(Dataset):
    """The protocol's prompts, one ``dict(data_samples=VideoDataSample)`` per video to generate.

    Each sample has ``caption`` (its class's prompt), ``class_label`` (index into
    ``metainfo['classes']``) and metainfo ``sample_idx`` (the model seeds generation with it)
    and ``class_name``; there are no ``inputs`` (prompt-only batches).

    Args:
        num_prompts: videos to generate (the paper: about 10K).
        class_counts: class name -> videos in the training split (label order = this order).
        split_file: or the official ``trainlist01.txt`` to count them from.
        class_index_file: ``classInd.txt``: label order (default: ``class_counts`` order, or
            sorted class names when counted from ``split_file``).
        prompts_file: class -> prompt(s) JSON / text file; default the shipped
            ``vidrd/datasets/prompts/ucf101_prompts.json``. With several prompts per class the
            class's videos take them in turn.
        seed: order of the prompts (see :func:`sample_prompt_classes`).
    """

    def __init__(self, num_prompts: int = 10000,
                 class_counts: Optional[Mapping[str, int]] = None,
                 split_file: Optional[str] = None, class_index_file: Optional[str] = None,
                 prompts_file: Optional[str] = None, seed: Optional[int] = 0,
                 test_mode: bool = True) -> None:
        from vidrd.datasets.ucf101_dataset import load_class_prompts, read_class_index
        if class_counts is None:
            if split_file is None:
                raise InvalidValueError(
                    'UCF101PromptDataset needs the training split\'s class distribution: '
                    'class_counts={class: count} or split_file=<ucfTrainTestlist/trainlist01.txt>')
            class_counts = class_counts_from_split_file(split_file)
        if class_index_file is not None:
            order = read_class_index(class_index_file)
            unknown = sorted(set(class_counts) - set(order))
            if unknown:
                raise DataError(f'classes {unknown[:10]} are not in {class_index_file}')
            class_counts = {name: class_counts.get(name, 0) for name in order}
        prompts_file = prompts_file or _default_prompts_file()
        if prompts_file is None:
            raise InvalidValueError('UCF101PromptDataset: no prompts_file given and the shipped '
                                    'vidrd/datasets/prompts/ucf101_prompts.json is missing')
        prompts = load_class_prompts(prompts_file)
        self.classes: List[str] = list(class_counts)
        self.prompts: Dict[str, List[str]] = {}
        missing = []
        for name in self.classes:
            value = _match_class(name, prompts)
            if value:
                self.prompts[name] = list(value) if not isinstance(value, str) else [value]
            else:
                missing.append(name)
        if missing:
            raise DataError(f'{prompts_file}: no prompt for class(es) {missing[:10]}')
        self.labels = sample_prompt_classes([class_counts[c] for c in self.classes],
                                            num_prompts, seed)
        # the k-th video of a class takes that class's prompts in turn
        seen: Counter = Counter()
        self.captions = []
        for label in self.labels.tolist():
            options = self.prompts[self.classes[label]]
            self.captions.append(options[seen[label] % len(options)])
            seen[label] += 1
        self.metainfo = dict(classes=tuple(self.classes), num_prompts=num_prompts, seed=seed,
                             prompts_file=prompts_file)

    def __len__(self) -> int:
        return len(self.labels)

    def get_data_info(self, idx: int) -> dict:
        label = int(self.labels[idx])
        return dict(sample_idx=idx, caption=self.captions[idx], class_label=label,
                    class_name=self.classes[label])

    def __getitem__(self, idx: int) -> dict:
        from vidrd.datasets.video_data_sample import VideoDataSample
        info = self.get_data_info(idx)
        sample = VideoDataSample(metainfo=dict(sample_idx=idx, class_name=info['class_name']))
        sample.caption = info['caption']
        sample.class_label = info['class_label']
        return dict(data_samples=sample)

    def class_histogram(self) -> Dict[str, int]:
        """Prompts per class (what the protocol generates)."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return dict(zip(self.classes, counts.tolist()))
