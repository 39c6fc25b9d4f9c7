"""Pausing Python's cyclic garbage collector around bulk decoding."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Building millions of short-lived containers sets off full collections that free nothing;
    reference counting still frees everything meanwhile. Restores the collector's state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
