"""Unreadable samples: the error a reader raises and the counter that records what was skipped.

A long run must never crash on one broken file, nor skip files silently. Readers raise
:class:`UnreadableSampleError` (an ``OSError``, like a missing file) naming the path; the datasets
catch ``OSError``, record the sample in their :class:`BadSampleCounter`, log it and try another
index. Because DataLoader workers are separate processes, the dataset also attaches the skipped
paths to the metainfo (``skipped_samples``) of the sample it returns instead, so the main process
sees them in the batch: ``BadSampleReportHook`` (``vidrd/engine/hooks``) counts them from there.
"""
import threading
from collections import OrderedDict
from typing import Dict, List, Optional

#: Key of a data sample's metainfo that lists the samples skipped before it was produced.
SKIPPED_SAMPLES_KEY = 'skipped_samples'


class UnreadableSampleError(OSError):
    """A file exists (or should) but cannot be decoded: corrupt video, truncated image, ..."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f'cannot read {self.path}: {reason}')


class BadSampleCounter:
    """Records skipped samples (path -> count and last error) of one process.

    ``record`` is thread safe. ``summary()`` gives a short text for a log line.
    """

    def __init__(self, max_paths: int = 10000):
        self.max_paths = max_paths
        self._errors: 'OrderedDict[str, str]' = OrderedDict()
        self._counts: Dict[str, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def record(self, path: str, error: str) -> None:
        with self._lock:
            self._total += 1
            path = str(path)
            if path in self._counts or len(self._counts) < self.max_paths:
                self._counts[path] = self._counts.get(path, 0) + 1
                self._errors[path] = error

    @property
    def count(self) -> int:
        """Number of skips recorded (a file skipped twice counts twice)."""
        return self._total

    @property
    def paths(self) -> List[str]:
        """Distinct skipped paths, in the order first seen."""
        return list(self._errors)

    def errors(self) -> Dict[str, str]:
        """Path -> last error message."""
        return dict(self._errors)

    def reset(self) -> None:
        with self._lock:
            self._errors.clear()
            self._counts.clear()
            self._total = 0

    def summary(self, max_listed: int = 5) -> str:
        if self._total == 0:
            return 'no unreadable samples skipped'
        listed = list(self._errors.items())[:max_listed]
        lines = [f'{self._total} unreadable sample(s) skipped, '
                 f'{len(self._errors)} distinct file(s):']
        lines += [f'  {path}: {error}' for path, error in listed]
        if len(self._errors) > max_listed:
            lines.append(f'  ... and {len(self._errors) - max_listed} more')
        return '\n'.join(lines)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state['_lock']
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f'BadSampleCounter(count={self._total}, distinct={len(self._errors)})'


def skipped_records(data_sample) -> Optional[List[dict]]:
    """The ``skipped_samples`` records carried by a packed data sample, if any."""
    metainfo = getattr(data_sample, 'metainfo', None)
    if metainfo is None:
        return None
    return metainfo.get(SKIPPED_SAMPLES_KEY)
