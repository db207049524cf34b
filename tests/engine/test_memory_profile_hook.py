"""MemoryProfileHook attributes resident-memory peaks to the phase they happen in."""
import time
import types

import torch

from vidrd.engine.hooks.memory_profile_hook import MemoryProfileHook, read_rss, summarise


def test_a_peak_is_attributed_to_its_phase(tmp_path):
    runner = types.SimpleNamespace(iter=0, work_dir=str(tmp_path))
    hook = MemoryProfileHook(interval=0.005)
    hook.before_run(runner)
    hook.before_train_iter(runner, 0)
    base = read_rss()
    big = torch.ones(64 * 2 ** 20)  # 256 MB touched, freed before the step ends
    time.sleep(0.05)
    del big
    hook.after_train_iter(runner, 0)
    runner.iter = 1
    hook.before_save_checkpoint(runner, {})
    hook.after_run(runner)
    phases = summarise(str(tmp_path / 'memory_profile.jsonl'))
    assert set(phases) == {'build', 'resume', 'step', 'after_step', 'checkpoint_save'}
    assert phases['step'][0] >= base + 200 * 2 ** 20
    assert phases['checkpoint_save'][0] < phases['step'][0] - 100 * 2 ** 20
    assert phases['step'][2] == 1


def test_the_sampling_thread_runs_from_before_run_to_after_run(tmp_path):
    import threading

    def samplers():
        return [t for t in threading.enumerate() if t.name == 'MemoryProfileHook']
    before = len(samplers())
    runner = types.SimpleNamespace(iter=0, work_dir=str(tmp_path))
    hook = MemoryProfileHook(interval=0.005)
    assert len(samplers()) == before  # building the hook starts nothing
    hook.before_run(runner)
    assert len(samplers()) == before + 1
    hook.after_run(runner)
    assert len(samplers()) == before
    hook.before_run(runner)  # a second run (e.g. test after train) samples again
    assert len(samplers()) == before + 1
    hook.after_run(runner)
    assert len(samplers()) == before
