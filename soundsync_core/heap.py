"""Handing the C heap's free pages back to the system after a stage that freed gigabytes."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


def release_free_heap() -> None:
    """Give the system back the free pages of every malloc arena (glibc's ``malloc_trim``;
    elsewhere nothing).

    glibc returns a freed block to the system only when it was mapped on its own (32 MB and up
    once blocks of that size have been freed) or sits at the top of its arena: the recluster's
    load frees many smaller arrays, some in a thread's arena, and at a million members 0.9 GB
    of them stayed in the process until the end of the run. Dask's worker-memory documentation
    gives the same advice for its workers ("Memory not released back to the OS").
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> ctypes._CFuncPtr | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
