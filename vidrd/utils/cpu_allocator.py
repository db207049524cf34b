"""Settings of the C allocator that tensor workloads on the CPU gain from.

A U-Net forward frees and re-allocates the same few dozen activation buffers of 1-64 MiB at
every layer and step. With glibc's defaults each large buffer is a fresh ``mmap`` (or a heap
top that was just trimmed back to the OS), so every 4 KiB page is faulted in and zeroed again:
on a 2-core VM, allocating and filling a fresh 32 MiB tensor took 10-30 ms against 0.9 ms for
refilling a reused one. Two settings remove most of it:

- ``THP_MEM_ALLOC_ENABLE=1``: PyTorch aligns CPU allocations of 2 MiB and more to huge pages
  and asks the kernel for transparent huge pages (512x fewer faults). PyTorch reads it once, at
  its first CPU allocation (not at import), so it takes effect when set before that.
- ``mallopt``: blocks up to 32 MiB come from the heap (glibc's dynamic threshold reaches that
  only after the first large free) and up to 256 MiB of free heap top is kept for reuse instead
  of being returned to the OS after every layer.

Peak memory is unchanged (what is kept is reused); :func:`vidrd.engine.runner.release_freed_memory`
still returns it on demand. Set ``VIDRD_TUNE_ALLOCATOR=0`` to keep the defaults.
"""
import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2 ** 20  # glibc's upper bound for the mmap threshold on 64-bit
TRIM_THRESHOLD = 256 * 2 ** 20


def tune_cpu_allocator() -> dict:
    """Apply the settings above, once per process; returns what was applied.

    ``{'transparent_huge_pages': bool, 'mallopt': bool}``; both False when disabled by
    ``VIDRD_TUNE_ALLOCATOR=0``. An explicit ``THP_MEM_ALLOC_ENABLE`` of the user's is left as
    it is.
    """
    applied = dict(transparent_huge_pages=False, mallopt=False)
    if os.environ.get('VIDRD_TUNE_ALLOCATOR', '1') == '0':
        return applied
    os.environ.setdefault('THP_MEM_ALLOC_ENABLE', '1')
    applied['transparent_huge_pages'] = os.environ.get('THP_MEM_ALLOC_ENABLE') == '1'
    try:
        libc = ctypes.CDLL('libc.so.6')
        applied['mallopt'] = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                                  and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        pass
    return applied
