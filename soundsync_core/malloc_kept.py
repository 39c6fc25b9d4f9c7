"""Keeping the memory a recluster frees for its next big array (glibc's malloc, this process).

A recluster allocates and frees arrays of tens to hundreds of MB over and over (match tables,
packed reasons, COPY chunks). glibc serves each from a fresh ``mmap`` and gives it back on
free, so every new array is page-faulted and zeroed again by the kernel. Measured at 100k
members (2 workers): the write stage took 17.6 s with glibc's defaults and 13.7 s with freed
memory kept. The Dask workers get the same settings through their environment
(``soundsync_cli.bootstrap.WORKER_MALLOC``); this is the running process's counterpart, set with
``mallopt`` for the run only and undone afterwards, so a long-lived bot does not keep a
recluster's peak between runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt(3) parameters and glibc's defaults for them.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
DEFAULTS = {M_TRIM_THRESHOLD: 128 << 10, M_TOP_PAD: 128 << 10, M_MMAP_THRESHOLD: 128 << 10}
KEPT = {M_TRIM_THRESHOLD: 2**31 - 1, M_TOP_PAD: 256 << 20, M_MMAP_THRESHOLD: 2**31 - 1}


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextmanager
def freed_memory_kept() -> Iterator[None]:
    """Within: freed blocks stay with the process for reuse. After: glibc's defaults again,
    and what is free at the top of the heap goes back to the system. Elsewhere than glibc:
    nothing."""
    libc = _glibc()
    if libc is None:
        yield
        return
    for param, value in KEPT.items():
        libc.mallopt(param, value)
    try:
        yield
    finally:
        for param, value in DEFAULTS.items():
            libc.mallopt(param, value)
        libc.malloc_trim(0)
