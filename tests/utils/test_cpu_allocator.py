"""vidrd's import sets the C allocator up for tensor workloads (vidrd/utils/cpu_allocator.py)."""
import json
import os
import subprocess
import sys

import pytest

THP = '/sys/kernel/mm/transparent_hugepage/enabled'
PROBE = """
import json, sys
import vidrd, torch
x = torch.ones(64 * 2 ** 20 // 4)  # 64 MiB: PyTorch's huge-page path is for >= 2 MiB
huge = sum(int(l.split()[1]) for l in open('/proc/self/smaps') if l.startswith('AnonHugePages'))
print(json.dumps(dict(applied=vidrd.CPU_ALLOCATOR, huge_kib=huge)))
"""


def probe(**env) -> dict:
    env = {k: v for k, v in dict(os.environ, **env).items() if v is not None}
    out = subprocess.run([sys.executable, '-c', PROBE], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


def thp_possible() -> bool:
    return os.path.exists(THP) and '[never]' not in open(THP).read()


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc and /proc: Linux only')
def test_import_gives_large_tensors_huge_pages_unless_switched_off():
    tuned = probe(VIDRD_TUNE_ALLOCATOR=None, THP_MEM_ALLOC_ENABLE=None)
    assert tuned['applied'] == dict(transparent_huge_pages=True, mallopt=True)
    if thp_possible():
        assert tuned['huge_kib'] >= 32 * 1024, tuned
    plain = probe(VIDRD_TUNE_ALLOCATOR='0', THP_MEM_ALLOC_ENABLE=None)
    assert plain['applied'] == dict(transparent_huge_pages=False, mallopt=False)
    if not os.path.exists(THP):
        return
    if '[madvise]' in open(THP).read():  # with [always], every large block gets them anyway
        assert plain['huge_kib'] < 32 * 1024, plain


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc and /proc: Linux only')
def test_a_users_own_huge_page_setting_is_kept():
    assert probe(THP_MEM_ALLOC_ENABLE='0')['applied']['transparent_huge_pages'] is False
