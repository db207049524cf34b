"""Report the unreadable samples the datasets skipped (how many, which files), per epoch."""
from typing import Dict, Optional

from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook

from vidrd.datasets.bad_samples import BadSampleCounter, skipped_records
from vidrd.registry import HOOKS


@HOOKS.register_module()
class BadSampleReportHook(Hook):
    """Count the samples skipped as unreadable and log them with their paths.

    vidrd's datasets skip a missing or corrupt file and attach its path to the metainfo
    (``skipped_samples``) of the sample returned in its place; this hook reads those records
    from each batch (so it works with DataLoader workers and under DDP, gathering all ranks),
    logs a summary at the end of every epoch / evaluation and of the run, and puts the epoch's
    count in the message hub as ``{mode}/skipped_samples``.

    Args:
        interval: also report every ``interval`` training iterations when new samples were
            skipped (useful for iteration-based training); ``None`` reports per epoch only.
        max_listed: paths listed in a report.
        max_skip_ratio: stop training with an error listing the files when more than this
            fraction of an epoch's samples was unreadable (``None``: never stop).
    """

    priority = 'LOW'

    def __init__(self, interval: Optional[int] = None, max_listed: int = 10,
                 max_skip_ratio: Optional[float] = None):
        self.interval = interval
        self.max_listed = max_listed
        self.max_skip_ratio = max_skip_ratio
        self.counters: Dict[str, BadSampleCounter] = {}
        self.seen: Dict[str, int] = {}

    def _counter(self, key: str) -> BadSampleCounter:
        return self.counters.setdefault(key, BadSampleCounter())

    def _collect(self, mode: str, data_batch) -> None:
        samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
        if not samples:
            return
        self.seen[mode] = self.seen.get(mode, 0) + len(samples)
        for sample in samples:
            for record in skipped_records(sample) or ():
                # Per epoch, since the last interval report, and for the whole run.
                for key in (mode, f'{mode}/interval', f'{mode}/run'):
                    self._counter(key).record(record['path'], record.get('error', ''))

    @staticmethod
    def _gathered(counter: BadSampleCounter, seen: int):
        """Merge every rank's counter (only this one when not distributed)."""
        parts = all_gather_object((counter.count, counter.errors(), seen))
        merged, seen_all = BadSampleCounter(), 0
        for count, errors, rank_seen in parts:
            seen_all += rank_seen
            for path, error in errors.items():
                merged.record(path, error)
            # Repeats of a path are counted in ``count`` but listed once.
            merged._total += count - len(errors)
        return merged, seen_all

    def _report(self, runner, key: str, where: str, seen: int = 0,
                check_ratio: bool = False) -> None:
        counter = self._counter(key)
        merged, seen = self._gathered(counter, seen)
        counter.reset()
        if merged.count and is_main_process():
            runner.logger.warning(f'{where}: {merged.summary(self.max_listed)}')
        if (check_ratio and self.max_skip_ratio is not None and seen
                and merged.count / seen > self.max_skip_ratio):
            raise RuntimeError(
                f'{where}: {merged.count} of {seen} samples were unreadable (more than '
                f'max_skip_ratio={self.max_skip_ratio}); files: {merged.paths[:self.max_listed]}')
        return merged

    def _epoch_report(self, runner, mode: str, where: str) -> None:
        merged = self._report(runner, mode, where, self.seen.get(mode, 0),
                              check_ratio=mode == 'train')
        runner.message_hub.update_scalar(f'{mode}/skipped_samples', merged.count)
        self.seen[mode] = 0
        self._counter(f'{mode}/interval').reset()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._collect('train', data_batch)
        # Every rank reaches the same iteration, so the gather inside is safe under DDP.
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self._report(runner, 'train/interval', f'iteration {runner.iter + 1}')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._collect('val', data_batch)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._collect('test', data_batch)

    def after_train_epoch(self, runner) -> None:
        self._epoch_report(runner, 'train', f'epoch {runner.epoch + 1}')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._epoch_report(runner, 'val', 'validation')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._epoch_report(runner, 'test', 'test')

    def after_run(self, runner) -> None:
        for key, counter in self.counters.items():
            if key.endswith('/run') and counter.count and is_main_process():
                runner.logger.warning(f'whole run ({key[:-4]}, this rank): '
                                      f'{counter.summary(self.max_listed)}')
