"""A run's set-up tunes the C allocator for tensor workloads (vidrd/utils/cpu_allocator.py): an
activation-sized block comes from the heap and, once freed, stays there for the next layer
instead of being unmapped and faulted in again. Importing vidrd alone changes nothing."""
import json
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, json
import vidrd, torch
from vidrd.utils import cpu_allocator
tuned = cpu_allocator.tune_cpu_allocator()  # what the runner's set-up and the tools call

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks',
        'fordblks', 'keepcost')]

libc = ctypes.CDLL('libc.so.6')
libc.mallinfo2.restype = MallInfo2
MiB = 2 ** 20
mapped = libc.mallinfo2().hblkhd
x = torch.ones(20 * MiB // 4)  # an activation of 20 MiB
mapped_by_it = libc.mallinfo2().hblkhd - mapped
del x
free_in_heap = libc.mallinfo2().fordblks
print(json.dumps(dict(tuned=tuned and cpu_allocator.TUNED, mapped_mib=mapped_by_it / MiB,
                      free_in_heap_mib=free_in_heap / MiB)))
"""


def probe(tune: str) -> dict:
    env = dict(os.environ, VIDRD_TUNE_ALLOCATOR=tune)
    out = subprocess.run([sys.executable, '-c', PROBE], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc: Linux only')
def test_an_activation_sized_block_is_kept_in_the_heap_for_reuse():
    tuned, plain = probe('1'), probe('0')
    assert tuned['tuned'] and not plain['tuned']
    # glibc's defaults: a fresh process maps such a block and unmaps it when freed
    assert plain['mapped_mib'] >= 20 and plain['free_in_heap_mib'] < 20, plain
    assert tuned['mapped_mib'] < 1 and tuned['free_in_heap_mib'] >= 20, tuned


#: imports every vidrd module a notebook or server would, with ``mallopt`` (and ``malloc_trim``)
#: of any ctypes handle recorded, then reports the calls and whether a 20 MiB block is mmapped
#: (glibc's default) as in a process that never heard of vidrd
IMPORT_ONLY = """
import ctypes, json
calls = []
CDLL = ctypes.CDLL

class Recording(CDLL):
    def __getattr__(self, name):
        function = super().__getattr__(name)
        if name in ('mallopt', 'malloc_trim'):
            def record(*args):
                calls.append([name, *args])
                return function(*args)
            setattr(self, name, record)  # CDLL caches what it looked up
            return record
        return function

ctypes.CDLL = Recording
ctypes.cdll = ctypes.LibraryLoader(Recording)
import vidrd, torch
import vidrd.apis, vidrd.engine, vidrd.models, vidrd.datasets, vidrd.evaluation
from vidrd.utils import cpu_allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks',
        'fordblks', 'keepcost')]

libc = CDLL('libc.so.6')
libc.mallinfo2.restype = MallInfo2
mapped = libc.mallinfo2().hblkhd
x = torch.ones(20 * 2 ** 20 // 4)
mapped_by_it = (libc.mallinfo2().hblkhd - mapped) / 2 ** 20
print(json.dumps(dict(calls=calls, tuned=cpu_allocator.TUNED, mapped_mib=mapped_by_it)))
"""


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc: Linux only')
def test_importing_vidrd_leaves_the_allocator_alone():
    env = dict(os.environ)
    env.pop('VIDRD_TUNE_ALLOCATOR', None)  # tuning on, as by default
    out = subprocess.run([sys.executable, '-c', IMPORT_ONLY], env=env, capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result['calls'] == [] and not result['tuned'], result
    assert result['mapped_mib'] >= 20, result  # glibc's defaults still hold


def test_the_runner_tunes_in_its_environment_set_up_unless_switched_off(monkeypatch):
    from mmengine.runner import Runner

    from vidrd.engine.runner import VidRDRunner
    calls = []
    monkeypatch.setattr('vidrd.engine.runner.tune_cpu_allocator', lambda: calls.append(1))
    monkeypatch.setattr(Runner, 'setup_env', lambda self, env_cfg: calls.append(env_cfg))
    runner = VidRDRunner.__new__(VidRDRunner)
    runner.setup_env(dict(dist_cfg=dict(backend='gloo')))
    assert calls == [1, dict(dist_cfg=dict(backend='gloo'))]
    calls.clear()
    runner.setup_env(dict(tune_cpu_allocator=False))
    assert calls == [dict(tune_cpu_allocator=False)]


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc: Linux only')
def test_every_tool_tunes_the_allocator_once():
    import glob
    import re
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for path in glob.glob(os.path.join(root, 'tools', '**', '*.py'), recursive=True):
        with open(path) as f:
            text = f.read()
        if "__name__ == '__main__'" not in text or 'docs' in path:
            continue
        builds_runner = 'build_runner(' in text  # the runner's env_cfg does it
        calls = len(re.findall(r'tune_cpu_allocator\(\)', text))
        assert calls == (0 if builds_runner else 1), path


def test_fsdp2_strategy_reads_the_same_env_cfg_key(monkeypatch):
    from mmengine._strategy.base import BaseStrategy

    from vidrd.engine.strategies.fsdp2_strategy import FSDP2Strategy
    calls = []
    monkeypatch.setattr('vidrd.utils.cpu_allocator.tune_cpu_allocator', lambda: calls.append(1))
    monkeypatch.setattr(BaseStrategy, '_setup_env', lambda self, **kwargs: calls.append(kwargs))
    strategy = FSDP2Strategy.__new__(FSDP2Strategy)
    strategy._setup_env(launcher='none', mp_cfg=None)
    assert calls == [1, dict(launcher='none', mp_cfg=None)]
    calls.clear()
    strategy._setup_env(launcher='none', tune_cpu_allocator=False)
    assert calls == [dict(launcher='none')]
