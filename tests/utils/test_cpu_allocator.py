"""vidrd's import sets the C allocator up for tensor workloads (vidrd/utils/cpu_allocator.py):
an activation-sized block comes from the heap and, once freed, stays there for the next layer
instead of being unmapped and faulted in again."""
import json
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, json
import vidrd, torch

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
print(json.dumps(dict(tuned=vidrd.CPU_ALLOCATOR_TUNED, mapped_mib=mapped_by_it / MiB,
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
