"""Settings of the C allocator that tensor workloads on the CPU gain from.

A U-Net forward frees and re-allocates the same activation buffers of 1-32 MiB at every layer
and step. With glibc's defaults such a buffer is a fresh ``mmap`` (until the dynamic threshold
has grown) or sits at a heap top that is trimmed back to the OS as soon as it is freed, so its
pages are faulted in and zeroed again at every use: on a 2-core VM, allocating and filling a
fresh 32 MiB tensor took 10-30 ms against 0.9 ms for refilling a reused one. ``mallopt`` makes
blocks up to 32 MiB come from the heap from the start and keeps up to 256 MiB of free heap top
for reuse. At the issue-14 U-Net size this cut a forward's page faults from 79-84k to 1-6k and
its system time from 0.14-0.17 s to 0.004-0.017 s, with the same peak RSS (what is kept is
reused). Blocks over 32 MiB keep glibc's mmap path. (PyTorch's ``THP_MEM_ALLOC_ENABLE`` huge
pages were measured too: no gain on top of this, and 16% more peak RSS in training, so they are
left off; preloading jemalloc instead was slower, with 10x the page faults.)

:func:`vidrd.engine.runner.release_freed_memory` still returns kept memory on demand.

Importing vidrd changes nothing: the settings are applied where a run sets up its process, by
:class:`~vidrd.engine.runner.VidRDRunner` (and ``FSDP2Strategy``) in the environment set-up
(``env_cfg=dict(tune_cpu_allocator=False)`` switches it off) and by the command-line tools
(``tools/*.py``). Set ``VIDRD_TUNE_ALLOCATOR=0`` to keep glibc's defaults everywhere.
"""
import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2 ** 20  # glibc's upper bound for the mmap threshold on 64-bit
TRIM_THRESHOLD = 256 * 2 ** 20
#: the same settings as glibc's environment variables, for a process that does not run vidrd's
#: set-up (the benchmarks' peers)
GLIBC_ENVIRONMENT = dict(MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD),
                         MALLOC_TRIM_THRESHOLD_=str(TRIM_THRESHOLD))
#: whether :func:`tune_cpu_allocator` has applied the settings to this process
TUNED = False


def tune_cpu_allocator() -> bool:
    """Apply the settings above to this process (a no-op where already applied).

    Returns:
        bool: True where applied (glibc, and ``VIDRD_TUNE_ALLOCATOR`` is not ``0``).
    """
    global TUNED
    if TUNED:
        return True
    if os.environ.get('VIDRD_TUNE_ALLOCATOR', '1') == '0':
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
        TUNED = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                     and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        pass
    return TUNED
