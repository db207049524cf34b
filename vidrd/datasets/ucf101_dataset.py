"""UCF-101 with its official train / test splits, captioned by one prompt per class.

Expected layout (the official archives unpacked under ``data_root``)::

    data_root/
      UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi ...   (``video_dir``)
      ucfTrainTestlist/classInd.txt                            (``split_dir``)
      ucfTrainTestlist/trainlist01.txt, testlist01.txt, ...

The caption of a video is its class's prompt, from ``prompts_file`` (default: the shipped
``prompts/ucf101_prompts.json``, one descriptive prompt per class, as in VidRD's zero-shot
UCF-101 protocol). Evaluation uses :meth:`UCF101Dataset.class_distribution` (counts of the
training split) and :meth:`UCF101Dataset.zero_shot_prompts` to generate videos with the training
set's class distribution.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Union

import numpy as np

from vidrd.registry import DATASETS
from .annotations import DataNotFoundError, require_dir, require_file
from .base_video_dataset import BaseVideoDataset
from vidrd.utils.errors import DataError, InvalidValueError

DEFAULT_PROMPTS_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'prompts',
                                'ucf101_prompts.json')
SPLIT_FILES_HINT = ('the official "ucfTrainTestlist" files: classInd.txt ("1 ApplyEyeMakeup" per '
                    'line), trainlist0N.txt ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1" per '
                    'line) and testlist0N.txt (paths only)')


def load_class_prompts(path: Optional[str] = None) -> Dict[str, List[str]]:
    """Class name -> list of prompts, from a JSON object (values: a string or a list of
    strings) or a text file of ``ClassName<TAB or :>prompt`` lines (a class may repeat)."""
    path = path or DEFAULT_PROMPTS_FILE
    require_file(path, 'class prompts file',
                 'a JSON object {"ApplyEyeMakeup": "a person applying eye makeup ...", ...} or '
                 'lines "ApplyEyeMakeup<TAB>a person applying eye makeup ..."')
    prompts: Dict[str, List[str]] = {}
    if path.endswith('.json'):
        with open(path, encoding='utf-8') as file:
            data = json.load(file)
        for name, value in data.items():
            prompts[name] = [value] if isinstance(value, str) else [str(v) for v in value]
        return prompts
    with open(path, encoding='utf-8') as file:
        for line_no, line in enumerate(file, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            sep = '\t' if '\t' in line else ':'
            if sep not in line:
                raise ValueError(f'{path}:{line_no}: expected "ClassName<TAB>prompt", got {line!r}')
            name, prompt = line.split(sep, 1)
            prompts.setdefault(name.strip(), []).append(prompt.strip())
    return prompts


def read_class_index(path: str) -> List[str]:
    """Class names in label order from ``classInd.txt`` (``"1 ApplyEyeMakeup"`` lines)."""
    require_file(path, 'UCF-101 class index', SPLIT_FILES_HINT)
    pairs = []
    with open(path, encoding='utf-8') as file:
        for line_no, line in enumerate(file, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[0].isdigit():
                raise ValueError(f'{path}:{line_no}: expected "<label> <ClassName>", got {line!r}')
            pairs.append((int(parts[0]), parts[1]))
    pairs.sort()
    if [label for label, _ in pairs] != list(range(1, len(pairs) + 1)):
        raise DataError(f'{path}: labels must run 1..{len(pairs)} without gaps')
    return [name for _, name in pairs]


def read_split_list(path: str) -> List[str]:
    """Relative video paths (``Class/v_Class_gXX_cYY.avi``) of a train/test list."""
    require_file(path, 'UCF-101 split file', SPLIT_FILES_HINT)
    with open(path, encoding='utf-8') as file:
        return [line.split()[0] for line in file if line.strip()]


@DATASETS.register_module()
class UCF101Dataset(BaseVideoDataset):
    """UCF-101 videos captioned by class prompts.

    Args:
        data_root: folder holding ``video_dir`` and ``split_dir``.
        subset: ``'train'`` or ``'test'``.
        split: official split 1, 2 or 3.
        video_dir: folder of the class sub-folders of videos, relative to ``data_root``.
        split_dir: folder of ``classInd.txt`` and the split lists, relative to ``data_root``.
        prompts_file: class -> prompt(s) file; ``None`` uses the shipped prompts. A class with
            several prompts gives its videos the prompts in turn.
        pipeline, test_mode, ...: see ``BaseVideoDataset``.

    Data infos hold ``video_path``, ``caption``, ``class_label`` (0-based, classInd order) and
    ``class_name``; ``metainfo['classes']`` lists the 101 class names.
    """

    def __init__(self,
                 data_root: str,
                 subset: str = 'train',
                 split: int = 1,
                 video_dir: str = 'UCF-101',
                 split_dir: str = 'ucfTrainTestlist',
                 prompts_file: Optional[str] = None,
                 **kwargs):
        if subset not in ('train', 'test'):
            raise InvalidValueError(f"subset must be 'train' or 'test', got {subset!r}")
        if split not in (1, 2, 3):
            raise InvalidValueError(f'split must be 1, 2 or 3, got {split}')
        if not data_root:
            raise DataNotFoundError('UCF101Dataset needs data_root: the folder holding UCF-101/ '
                                    'and ucfTrainTestlist/')
        self.subset = subset
        self.split = split
        self.split_dir = split_dir
        self.prompts_file = prompts_file or DEFAULT_PROMPTS_FILE
        self._class_names: List[str] = []
        self._prompts: Dict[str, List[str]] = {}
        super().__init__(ann_file='', data_root=data_root, data_prefix=dict(video=video_dir),
                         **kwargs)

    def _data_root_hint(self) -> str:
        return 'UCF-101/<Class>/*.avi and ucfTrainTestlist/'

    # --- files -------------------------------------------------------------------------------
    def _split_path(self, subset: str) -> str:
        return osp.join(self.data_root, self.split_dir, f'{subset}list{self.split:02d}.txt')

    @property
    def class_index_file(self) -> str:
        return osp.join(self.data_root, self.split_dir, 'classInd.txt')

    def load_data_list(self):
        require_dir(osp.join(self.data_root, self.split_dir), 'UCF-101 split folder',
                    SPLIT_FILES_HINT)
        require_dir(self.data_prefix['video'], 'UCF-101 video folder',
                    'the unpacked UCF101.rar: one folder per class of .avi files')
        self._class_names = read_class_index(self.class_index_file)
        self._prompts = self._checked_prompts()
        self._metainfo['classes'] = tuple(self._class_names)
        label_of = {name: i for i, name in enumerate(self._class_names)}
        split_path = self._split_path(self.subset)
        data_list = []
        for relative in read_split_list(split_path):
            class_name = relative.split('/')[0]
            if class_name not in label_of:
                raise DataError(f'{split_path}: class folder {class_name!r} of {relative!r} is '
                                f'not in {self.class_index_file}')
            prompts = self._prompts[class_name]
            data_list.append(dict(
                video_path=osp.join(self.data_prefix['video'], relative),
                caption=prompts[len(data_list) % len(prompts)],
                class_label=label_of[class_name],
                class_name=class_name))
        return data_list

    def _checked_prompts(self) -> Dict[str, List[str]]:
        prompts = load_class_prompts(self.prompts_file)
        lower = {name.lower(): value for name, value in prompts.items()}
        resolved, missing = {}, []
        for name in self._class_names:
            value = prompts.get(name) or lower.get(name.lower())
            if not value:
                missing.append(name)
            else:
                resolved[name] = value
        if missing:
            raise DataError(f'{self.prompts_file}: no prompt for class(es) {missing[:10]}'
                           f'{" ..." if len(missing) > 10 else ""}; give one per class of '
                           f'{self.class_index_file}')
        return resolved

    # --- what evaluation reads -------------------------------------------------------------
    @property
    def classes(self) -> List[str]:
        """The class names, in label order."""
        self.full_init()
        return list(self._class_names)

    def class_prompts(self) -> Dict[str, str]:
        """Class name -> its (first) prompt."""
        self.full_init()
        return {name: self._prompts[name][0] for name in self._class_names}

    def class_distribution(self, subset: str = 'train') -> Dict[str, int]:
        """Number of videos of each class in ``subset``'s list of this split (default: the
        training list, whatever subset the dataset reads)."""
        self.full_init()
        counts = {name: 0 for name in self._class_names}
        for relative in read_split_list(self._split_path(subset)):
            class_name = relative.split('/')[0]
            if class_name in counts:
                counts[class_name] += 1
        return counts

    def zero_shot_prompts(self, num_samples: int = 10000,
                          seed: Optional[int] = 0) -> List[Dict[str, Union[str, int]]]:
        """``num_samples`` prompts whose classes follow the training split's distribution
        (largest-remainder rounding, so the counts sum exactly to ``num_samples``), shuffled
        with ``seed`` (``None``: in class order). Items: ``dict(class_label, class_name,
        caption)``."""
        counts = self.class_distribution('train')
        names = self._class_names
        weights = np.array([counts[name] for name in names], dtype=np.float64)
        if weights.sum() == 0:
            raise DataError(f'{self._split_path("train")} lists no videos')
        exact = weights / weights.sum() * num_samples
        per_class = np.floor(exact).astype(int)
        remainder = num_samples - per_class.sum()
        per_class[np.argsort(-(exact - per_class), kind='stable')[:remainder]] += 1
        items = []
        for label, (name, count) in enumerate(zip(names, per_class.tolist())):
            prompts = self._prompts[name]
            items += [dict(class_label=label, class_name=name, caption=prompts[k % len(prompts)])
                      for k in range(count)]
        if seed is not None:
            order = np.random.default_rng(seed).permutation(len(items))
            items = [items[i] for i in order]
        return items
