"""Shared behaviour of vidrd's file-backed datasets: pipelines of vidrd transforms, checks of the
data paths at start-up, and skipping (and reporting) of unreadable samples."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.structures import BaseDataElement

from vidrd.registry import TRANSFORMS
from vidrd.utils.logging import get_logger
from .annotations import DataNotFoundError
from .bad_samples import SKIPPED_SAMPLES_KEY, BadSampleCounter
from vidrd.utils.errors import DataError


def build_pipeline(pipeline: Sequence[Union[dict, Callable]]) -> List[Callable]:
    """Build transform configs from vidrd's TRANSFORMS (which falls back to mmengine's), so a
    pipeline builds the same inside and outside a Runner's ``default_scope``."""
    built = []
    for transform in pipeline or []:
        if isinstance(transform, dict):
            built.append(TRANSFORMS.build(transform))
        elif callable(transform):
            built.append(transform)
        else:
            raise TypeError('a pipeline entry must be a config dict or a callable, '
                            f'got {transform!r}')
    return built


class BaseVideoDataset(BaseDataset):
    """mmengine ``BaseDataset`` with vidrd's robustness rules.

    - ``data_root`` (when given) must exist; each subclass checks its annotation files and says
      what they should contain.
    - At start-up the files of up to ``check_files`` samples (spread over the dataset) are
      checked; if none of them exists the dataset fails at once naming the first missing path,
      otherwise the missing ones are logged.
    - While iterating, a sample whose file is missing or cannot be decoded (any ``OSError`` from
      the pipeline) is logged with its path, counted in ``self.bad_samples`` and replaced by
      another index (chosen deterministically from the index and the attempt). The paths skipped
      are attached to the replacement's metainfo (``skipped_samples``) so the main process can
      count them even when DataLoader workers did the reading. After ``max_refetch`` failures in
      a row the dataset raises, naming the files it tried.

    Subclasses set ``path_key`` (the data-info key naming the file to read) and implement
    ``load_data_list``.
    """

    #: The data-info key holding the path of the file a sample reads.
    path_key = 'video_path'
    #: What a sample's file is, for messages.
    file_kind = 'video'

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 indices=None,
                 max_refetch: int = 50,
                 check_files: int = 1000):
        if data_root and not osp.isdir(data_root):
            raise DataNotFoundError(
                f'data_root of {type(self).__name__} not found: {data_root!r}. '
                f'Put the dataset there ({self._data_root_hint()}) or set data_root in the config.')
        self.bad_samples = BadSampleCounter()
        self.check_files = check_files
        super().__init__(
            ann_file=ann_file, metainfo=metainfo, data_root=data_root,
            data_prefix=dict(data_prefix) if data_prefix is not None else dict(video=''),
            serialize_data=serialize_data, pipeline=build_pipeline(pipeline),
            test_mode=test_mode, lazy_init=lazy_init, max_refetch=max_refetch, indices=indices)

    def _data_root_hint(self) -> str:
        return 'videos and annotation files'

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        if len(self) == 0:
            raise DataError(f'{type(self).__name__}: no samples found in '
                            f'{self.ann_file or self.data_root!r}; check the annotation file '
                            'and filters.')
        self._check_sample_files()

    def _check_sample_files(self) -> None:
        """Fail fast when no file can be found; warn when some are missing."""
        if not self.check_files or self.check_files <= 0:
            return
        count = min(len(self), int(self.check_files))
        indices = np.unique(np.linspace(0, len(self) - 1, count).round().astype(int))
        missing = []
        for index in indices.tolist():
            path = self.get_data_info(index).get(self.path_key)
            if path is not None and not osp.isfile(path):
                missing.append(path)
        if missing and len(missing) == len(indices):
            raise DataNotFoundError(
                f'{type(self).__name__}: none of the {len(indices)} {self.file_kind} files checked '
                f'exists, e.g. {missing[0]!r} (data_root={self.data_root!r}, '
                f'data_prefix={self.data_prefix}). Check data_root / data_prefix and that the '
                f'annotation file {self.ann_file!r} names paths relative to them.')
        if missing:
            listed = ', '.join(repr(p) for p in missing[:5])
            get_logger().warning(
                f'{type(self).__name__}: {len(missing)} of {len(indices)} {self.file_kind} files '
                f'checked are missing ({listed}{" ..." if len(missing) > 5 else ""}); they will be '
                'skipped and reported.')

    def _another_index(self, idx: int, attempt: int) -> int:
        rng = np.random.default_rng((idx, attempt, 0x5EED))
        return int(rng.integers(len(self)))

    def __getitem__(self, idx: int):
        if not self._fully_initialized:
            self.full_init()
        skipped = []
        current = idx
        for attempt in range(self.max_refetch + 1):
            data_info = self.get_data_info(current)
            path = data_info.get(self.path_key, '<no path>')
            try:
                data = self.pipeline(data_info)
            except OSError as error:
                self.bad_samples.record(path, str(error))
                get_logger().warning(
                    f'{type(self).__name__}: skipping unreadable sample {current} '
                    f'({path}): {error}')
                skipped.append(dict(index=current, path=str(path), error=str(error)))
                current = self._another_index(idx, attempt)
                continue
            except Exception as error:
                error.add_note(f'while preparing sample {current} ({path}) of '
                               f'{type(self).__name__}')
                raise
            if data is None:  # a transform rejected the sample (mmengine's convention)
                current = self._another_index(idx, attempt)
                continue
            return self._attach_skipped(data, skipped)
        tried = ', '.join(repr(s['path']) for s in skipped[-5:])
        raise RuntimeError(
            f'{type(self).__name__}: {len(skipped)} unreadable samples in a row while fetching '
            f'index {idx} (last ones: {tried}); {self.bad_samples.count} skipped so far. Check '
            f'data_root={self.data_root!r} and the files named.')

    @staticmethod
    def _attach_skipped(data, skipped: list):
        if not skipped:
            return data
        sample = data.get('data_samples') if isinstance(data, dict) else None
        if isinstance(sample, BaseDataElement):
            sample.set_metainfo({SKIPPED_SAMPLES_KEY: skipped})
        return data
