"""Peak resident memory of a training run, by phase (build, load, step, checkpoint save)."""
import json
import os.path as osp
import threading
import time
from typing import Optional

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from vidrd.registry import HOOKS


def read_rss(pid: str = 'self', field: str = 'VmRSS') -> int:
    """Resident memory of process ``pid`` in bytes (``VmRSS``; ``VmHWM`` is its peak so far)."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(f'/proc/{pid}/status has no {field}')


@HOOKS.register_module()
class MemoryProfileHook(Hook):
    """Sample this process's resident memory (``/proc/self/status``) in a thread and attribute
    each peak to the phase it happened in.

    Phases: ``build`` (process start until ``before_run``: imports, model and weights (the
    kernel's high-water mark before the hook existed), optimiser), ``resume`` (loading the
    checkpoint to resume, until the first iteration), ``setup`` (after a resume load, until the
    first iteration), ``step`` (data, forward, backward, optimiser update), ``after_step``
    (logging) and ``checkpoint_save`` (writing a checkpoint). Each phase change appends one JSON
    line ``{"phase", "peak_rss", "seconds", "iter"}`` for the phase that ended to ``out_file``
    (``{work_dir}/memory_profile.jsonl``), so a run killed at any moment keeps what it
    measured. Linux only. Costs nothing measurable (one small file read per ``interval``).

    The sampling thread runs from ``before_run`` to ``after_run``; building the hook starts
    nothing. The ``build`` peak is the kernel's high-water mark (``VmHWM``) at ``before_run``.

    Args:
        interval (float): Seconds between two samples. Defaults to 0.02.
        out_file (str, optional): The JSON-lines file; ``{work_dir}/memory_profile.jsonl``
            when None. Defaults to None.
    """
    priority = 'HIGHEST'  # a step starts before other hooks' before_train_iter and ends first

    def __init__(self, interval: float = 0.02, out_file: Optional[str] = None):
        self.interval = interval
        self.out_file = out_file
        self._lock = threading.Lock()
        self._phase = 'build'
        self._start = time.time()
        self._peak = 0
        self._iter = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _sample(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            rss = read_rss()
            with self._lock:
                self._peak = max(self._peak, rss)

    def _start_sampling(self) -> None:
        self._stop_sampling()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(self._stop,), daemon=True,
                                        name='MemoryProfileHook')
        self._thread.start()

    def _stop_sampling(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _switch(self, runner, phase: str) -> None:
        with self._lock:
            record = dict(phase=self._phase, peak_rss=max(self._peak, read_rss()),
                          seconds=round(time.time() - self._start, 3), iter=self._iter)
            self._phase, self._peak, self._start = phase, read_rss(), time.time()
            self._iter = runner.iter
        if get_rank() == 0:
            path = self.out_file or osp.join(runner.work_dir, 'memory_profile.jsonl')
            with open(path, 'a') as f:  # one line per phase: append-safe
                f.write(json.dumps(record) + '\n')

    def before_run(self, runner) -> None:
        with self._lock:  # everything since the process started, the model's build included
            self._peak = max(self._peak, read_rss('self', 'VmHWM'))
        self._switch(runner, 'resume')
        self._start_sampling()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._switch(runner, 'setup')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._switch(runner, 'checkpoint_save')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._switch(runner, 'step')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._switch(runner, 'after_step')

    def after_run(self, runner) -> None:
        self._stop_sampling()
        self._switch(runner, 'end')


def read_records(path: str) -> list:
    """The records of a ``memory_profile.jsonl`` in order (none if it does not exist)."""
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise(path: str) -> dict:
    """``{phase: (peak_rss, total seconds, count)}`` of a ``memory_profile.jsonl``."""
    out = {}
    if not osp.isfile(path):
        return out
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            peak, seconds, count = out.get(rec['phase'], (0, 0.0, 0))
            out[rec['phase']] = (max(peak, rec['peak_rss']), seconds + rec['seconds'], count + 1)
    return out


__all__ = ['MemoryProfileHook', 'read_rss', 'summarise']
