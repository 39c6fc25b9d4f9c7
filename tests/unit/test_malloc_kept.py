"""A recluster keeps the memory it frees for its next array, and gives it back afterwards."""

from __future__ import annotations

import ctypes
import platform

import pytest

from soundsync_core.malloc_kept import _glibc, freed_memory_kept

BLOCK = 96 << 20

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or _glibc() is None, reason="glibc's malloc only"
)


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def _allocate_and_free() -> float:
    """Resident MB just after a touched block of BLOCK bytes is freed, minus just before it."""
    before = _resident_mb()
    block = ctypes.create_string_buffer(BLOCK)  # malloc'ed and zeroed: every page touched
    del block
    return _resident_mb() - before


def test_a_freed_block_stays_resident_inside_and_goes_back_after() -> None:
    assert _allocate_and_free() < 8  # glibc's default: a block this big is unmapped on free
    with freed_memory_kept():
        kept = _allocate_and_free()
        inside = _resident_mb()
    assert kept > BLOCK / 2**20 * 0.9
    assert _resident_mb() < inside - BLOCK / 2**20 * 0.9
    assert _allocate_and_free() < 8  # the defaults are back
