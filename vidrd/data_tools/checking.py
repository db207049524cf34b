"""Decode every sample of a config's dataset (nested mixes included) through its real pipeline
and report the bad ones, each with its reason and with counts per dataset; optionally write the
annotation files without them.

Problems found, per sample:

- ``missing``: the file does not exist; ``empty``: it has 0 bytes;
- ``unreadable``: the decoder (or image reader) fails;
- ``too short``: the range holds fewer frames than the pipeline's ``LoadVideoFrames`` clip spans
  (it would stretch or repeat frames);
- ``odd size``: the source is far from square (``max_aspect_ratio``), so small that the clip
  the pipeline cuts from it is upscaled more than ``max_upscale`` times, or the packed clip's
  shape differs from its dataset's usual one (it would break batching);
- ``pipeline error``: any other exception of a transform.
"""
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from vidrd.datasets.annotations import optional_float, read_table
from vidrd.datasets.bad_samples import UnreadableSampleError
from vidrd.datasets.transforms import LoadVideoFrames
from vidrd.datasets.video_io import probe_video
from vidrd.registry import DATASETS
from vidrd.utils.logging import get_logger
from .converters.tables import write_csv_atomic, write_jsonl_atomic
from .video_text_columns import check_dataset_columns
from vidrd.utils.errors import InvalidValueError

PROBLEM_KINDS = ('missing', 'empty', 'unreadable', 'too short', 'odd size', 'pipeline error')
#: problems of the file itself: every row naming the file goes
FILE_PROBLEMS = ('missing', 'empty', 'unreadable')


@dataclass
class SampleProblem:
    """A bad sample: which, where, what kind and why.

    Attributes:
        dataset (str): the leaf dataset's name (see :func:`leaf_dataset_configs`).
        index (int): the sample's index in it.
        path (str): its file.
        start (float, optional): seconds, where the sample is a range of the file.
        end (float, optional): seconds, where the sample is a range of the file.
        kind (str): one of ``PROBLEM_KINDS``.
        reason (str): what was found, in words.
    """
    dataset: str
    index: int
    path: str
    start: Optional[float]
    end: Optional[float]
    kind: str
    reason: str

    def line(self) -> str:
        """``'<dataset>: <path> [<start>, <end>] s: <kind>: <reason>'``."""
        where = self.path
        if self.start is not None or self.end is not None:
            where += f' [{self.start}, {self.end}] s'
        return f'{self.dataset}: {where}: {self.kind}: {self.reason}'


def leaf_dataset_configs(cfg: dict, name: str = 'dataset') -> List[Tuple[str, dict]]:
    """Every dataset inside mixes (``datasets=[...]``) and wrappers (``dataset=...``), in order.

    Args:
        cfg (dict): a dataset config (or an mmengine ``ConfigDict``).
        name (str): the name of ``cfg`` itself. Defaults to ``'dataset'``.

    Returns:
        List[Tuple[str, dict]]: ``(name, config)`` of each leaf, names like
        ``dataset.datasets[1]:VideoTextDataset``.
    """
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    if isinstance(cfg.get('datasets'), (list, tuple)):
        leaves = []
        for k, child in enumerate(cfg['datasets']):
            leaves += leaf_dataset_configs(child, f'{name}.datasets[{k}]')
        return leaves
    if isinstance(cfg.get('dataset'), dict):
        return leaf_dataset_configs(cfg['dataset'], f'{name}.dataset')
    return [(f'{name}:{cfg.get("type")}', cfg)]


def _transforms(dataset) -> list:
    pipeline = getattr(dataset, 'pipeline', None)
    return list(getattr(pipeline, 'transforms', []) or [])


def _clip_loader(dataset) -> Optional[LoadVideoFrames]:
    for transform in _transforms(dataset):
        if isinstance(transform, LoadVideoFrames):
            return transform
    return None


class SampleChecker:
    """Checks the samples of one built dataset.

    Indexable, so a DataLoader can run it in worker processes: ``checker[i]`` returns
    ``(problem or None, packed shape or None)``.

    Args:
        dataset: a built dataset (``get_data_info``, ``pipeline``, ``path_key``).
        name (str): its name in the problems reported.
        max_aspect_ratio (float): a source farther from square is an ``odd size``.
            Defaults to 3.0.
        max_upscale (float): a source the clip is upscaled from more than this is an
            ``odd size``. Defaults to 2.0.
    """

    def __init__(self, dataset, name: str, max_aspect_ratio: float = 3.0,
                 max_upscale: float = 2.0):
        self.dataset = dataset
        self.name = name
        self.max_aspect_ratio = max_aspect_ratio
        self.max_upscale = max_upscale
        self.path_key = getattr(dataset, 'path_key', None)

    def __len__(self) -> int:
        return len(self.dataset)

    def problem(self, index: int, info: dict, kind: str, reason: str) -> SampleProblem:
        """A :class:`SampleProblem` of sample ``index``.

        Args:
            index (int): the sample's index.
            info (dict): its data info (``get_data_info(index)``).
            kind (str): one of ``PROBLEM_KINDS``.
            reason (str): what was found.

        Returns:
            SampleProblem: the problem, with the sample's file and range.
        """
        return SampleProblem(self.name, index, str(info.get(self.path_key, '')),
                             info.get('start'), info.get('end'), kind, reason)

    def _too_short(self, info: dict) -> Optional[str]:
        loader = _clip_loader(self.dataset)
        if loader is None or self.path_key != 'video_path':
            return None
        video = probe_video(info['video_path'])
        fps = video.fps or 25.0
        available = loader.count_frames(info['video_path'], info.get('start'), info.get('end'),
                                        info=video)
        step = loader.frame_step(fps)
        needed = loader.frames_needed(fps)
        if available < needed:
            return (f'{available} frames in the range, the clip needs {needed} '
                    f'({loader.num_frames} frames, {step:g} apart)')
        return None

    def __getitem__(self, index: int):
        if self.path_key is None:  # generated data (no files): the dataset's own preparation
            return self._check_generated(index)
        info = self.dataset.get_data_info(index)
        path = info.get(self.path_key)
        if path is not None:
            if not osp.isfile(path):
                return self.problem(index, info, 'missing', 'file not found'), None
            if osp.getsize(path) == 0:
                return self.problem(index, info, 'empty', 'empty file (0 bytes)'), None
        try:
            short = self._too_short(info)
            results, source_shape = dict(info), None
            for transform in _transforms(self.dataset):
                results = transform(results)
                if results is None:
                    return self.problem(index, info, 'pipeline error',
                                         f'{type(transform).__name__} rejected it'), None
                if source_shape is None and 'ori_shape' in results:
                    source_shape = tuple(int(s) for s in results['ori_shape'][:2])
        except OSError as error:
            reason = error.reason if isinstance(error, UnreadableSampleError) else str(error)
            return self.problem(index, info, 'unreadable', reason), None
        except Exception as error:  # noqa: BLE001  report any transform's failure, go on
            return self.problem(index, info, 'pipeline error',
                                 f'{type(error).__name__}: {error}'), None
        if short:
            return self.problem(index, info, 'too short', short), None
        inputs = results.get('inputs') if isinstance(results, dict) else None
        shape = tuple(inputs.shape) if inputs is not None else None
        if source_shape is not None:
            height, width = source_shape
            if max(height / width, width / height) > self.max_aspect_ratio:
                return self.problem(index, info, 'odd size',
                                     f'{height}x{width} source, aspect ratio '
                                     f'{max(height / width, width / height):.2f} > '
                                     f'{self.max_aspect_ratio:g}'), shape
            if shape is not None and len(shape) >= 2 and \
                    min(height, width) * self.max_upscale < max(shape[-2:]):
                return self.problem(index, info, 'odd size',
                                     f'{height}x{width} source for a {shape[-2]}x{shape[-1]} '
                                     f'clip (upscaled more than {self.max_upscale:g}x)'), shape
        return None, shape

    def _check_generated(self, index: int):
        try:
            data = self.dataset[index]
        except Exception as error:  # noqa: BLE001
            return SampleProblem(self.name, index, '', None, None, 'pipeline error',
                                 f'{type(error).__name__}: {error}'), None
        inputs = data.get('inputs') if isinstance(data, dict) else None
        return None, (tuple(inputs.shape) if inputs is not None else None)


@dataclass
class DatasetCheck:
    """What :func:`check_dataset` found in one dataset.

    Attributes:
        name (str): the leaf dataset's name.
        config (dict): its config.
        dataset: the built dataset.
        num_samples (int): samples checked.
        problems (List[SampleProblem]): the bad ones, by index.
    """
    name: str
    config: dict
    dataset: object
    num_samples: int = 0
    problems: List[SampleProblem] = field(default_factory=list)

    def counts(self) -> Counter:
        """Samples per problem kind (every kind, 0 included) and ``'ok'``."""
        counts = Counter({kind: 0 for kind in PROBLEM_KINDS})
        counts.update(problem.kind for problem in self.problems)
        counts['ok'] = self.num_samples - len(self.problems)
        return counts


def check_dataset(dataset_cfg: dict, workers: int = 0, max_aspect_ratio: float = 3.0,
                  max_upscale: float = 2.0, progress: bool = True) -> List[DatasetCheck]:
    """Check every sample of every leaf dataset of ``dataset_cfg``.

    Args:
        dataset_cfg (dict): a dataset config; mixes and wrappers are opened
            (:func:`leaf_dataset_configs`).
        workers (int): DataLoader worker processes (0: this process). Defaults to 0.
        max_aspect_ratio (float): see :class:`SampleChecker`. Defaults to 3.0.
        max_upscale (float): see :class:`SampleChecker`. Defaults to 2.0.
        progress (bool): show a progress bar. Defaults to True.

    Returns:
        List[DatasetCheck]: one per leaf dataset, in order.

    Raises:
        DataError: a video-text table lacks a column its config names.
    """
    from torch.utils.data import DataLoader
    checks = []
    for name, cfg in leaf_dataset_configs(dataset_cfg):
        check_dataset_columns(cfg)
        dataset = DATASETS.build(dict(cfg))
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        checker = SampleChecker(dataset, name, max_aspect_ratio, max_upscale)
        check = DatasetCheck(name, cfg, dataset, num_samples=len(checker))
        loader = DataLoader(checker, batch_size=None, shuffle=False, num_workers=workers,
                            collate_fn=lambda item: item)
        shapes: Dict[int, tuple] = {}
        for index, (problem, shape) in enumerate(tqdm(loader, total=len(checker),
                                                      desc=f'checking {name}', unit='sample',
                                                      disable=not progress)):
            if problem is not None:
                check.problems.append(problem)
            elif shape is not None:
                shapes[index] = shape
        if shapes:  # a clip shaped unlike the others would break batching
            usual, _ = Counter(shapes.values()).most_common(1)[0]
            for index, shape in shapes.items():
                if shape != usual:
                    info = dataset.get_data_info(index)
                    check.problems.append(checker.problem(
                        index, info, 'odd size', f'packed clip {shape}, the others {usual}'))
        check.problems.sort(key=lambda p: p.index)
        checks.append(check)
    return checks


def report_text(checks: Sequence[DatasetCheck]) -> str:
    """The report of a check: counts per dataset, then one line per bad sample.

    Args:
        checks (Sequence[DatasetCheck]): what :func:`check_dataset` returned.

    Returns:
        str: the report, lines joined by newlines.
    """
    header = ['dataset', 'samples', 'ok', *PROBLEM_KINDS]
    rows = [[c.name, str(c.num_samples), *(str(c.counts()[k]) for k in header[2:])]
            for c in checks]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header] + rows]
    problems = [p for c in checks for p in c.problems]
    lines.append(f'{len(problems)} bad sample(s)' + (':' if problems else ''))
    lines += ['  ' + p.line() for p in problems]
    return '\n'.join(lines)


def _row_path(dataset, row: dict) -> str:
    relative = dataset.path_format.format(**row)
    key = 'img' if dataset.path_key == 'img_path' else 'video'
    prefix = dataset.data_prefix.get(key, '')
    return osp.join(prefix, relative) if prefix else relative


def write_clean_annotations(checks: Sequence[DatasetCheck], out: str) -> List[str]:
    """Write each checked dataset's annotation file without the rows of bad samples.

    A row goes when its file is missing / empty / unreadable, or when the sample it describes
    (same file and range) has another problem. An ``ActionRecognitionDataset``'s segments file
    is cleaned the same way, into ``<cleaned name>_segments.csv``. With one dataset that has an
    ``ann_file``,
    ``out`` is the file written; with several, ``out`` is a folder and each is written there as
    ``<position>_<name of its ann_file>``.

    Args:
        checks (Sequence[DatasetCheck]): what :func:`check_dataset` returned.
        out (str): the file (one dataset) or folder (several) to write.

    Returns:
        List[str]: the files written.

    Raises:
        InvalidValueError: no dataset reads an annotation file.
    """
    with_ann = [c for c in checks if getattr(c.dataset, 'ann_file', '') and
                hasattr(c.dataset, 'path_format')]
    if not with_ann:
        raise InvalidValueError('none of the datasets reads an annotation file (ann_file) that a '
                                'cleaned copy could replace')
    for check in checks:
        if check not in with_ann and check.problems:
            get_logger().warning(f'{check.name} has no annotation file to clean (e.g. split '
                                 f'files or generated data); its {len(check.problems)} bad '
                                 'sample(s) stay in it')
    written = []
    for position, check in enumerate(with_ann):
        dataset = check.dataset
        bad_files = {p.path for p in check.problems if p.kind in FILE_PROBLEMS}
        bad_samples = {(p.path, p.start, p.end) for p in check.problems}
        start_key = getattr(dataset, 'start_key', 'start')
        end_key = getattr(dataset, 'end_key', 'end')
        rows = read_table(dataset.ann_file)
        kept = [row for row in rows
                if _row_path(dataset, row) not in bad_files and
                (_row_path(dataset, row), optional_float(row.get(start_key)),
                 optional_float(row.get(end_key))) not in bad_samples]
        target = out if len(with_ann) == 1 else osp.join(
            out, f'{position}_{osp.basename(dataset.ann_file)}')
        if target.lower().endswith('.jsonl'):
            write_jsonl_atomic(target, kept)
        else:
            fields = list(dict.fromkeys(key for row in rows for key in row))
            write_csv_atomic(target, kept, fields)
        written.append(target)
        if getattr(dataset, 'segments_file', None):
            written.append(_write_clean_segments(dataset, bad_files, bad_samples, target))
    return written


def _write_clean_segments(dataset, bad_files: set, bad_samples: set, clean_ann: str) -> str:
    """The segments file of an ``ActionRecognitionDataset`` without bad segments, next to the
    cleaned annotation as ``<name>_segments.csv``."""
    path_of = {}
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        path_of[str(info['video_id'])] = info['video_path']
    # relative to the data root, as the dataset reads it (an absolute path stays)
    segments_file = osp.join(dataset.data_root or '', dataset.segments_file)
    rows = read_table(segments_file)
    kept = []
    for row in rows:
        path = path_of.get(str(row.get('video_id')))
        key = (path, optional_float(row.get('start')), optional_float(row.get('end')))
        if path not in bad_files and key not in bad_samples:
            kept.append(row)
    target = osp.splitext(clean_ann)[0] + '_segments.csv'
    return write_csv_atomic(target, kept, list(dict.fromkeys(k for row in rows for k in row)))
