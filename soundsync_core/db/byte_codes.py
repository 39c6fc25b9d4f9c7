"""Dense codes for many strings held as byte ranges of one buffer, in order of first appearance.

What a dict from string to the next free code gives (:class:`~soundsync_core.taste.profile.Coder`),
without a Python string per value. A compiled pass hashes every range twice, with two unrelated
64-bit hashes (FNV-1a, and a multiply-add hash with a splitmix64 finish); a second one gives
each distinct first hash the next code, through an open-addressing table. Every value must then
have the second hash of its code's first value: two different strings that shared a code would
have to collide in both hashes at once (about 2⁻¹²⁸ a pair); if any value disagrees, the values
are coded through a dict of their bytes instead.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def codes_by_first_appearance(
    data: bytes, offset: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(code of every value, index of the first value of every code). Values are the bytes
    ``data[offset[k] : offset[k] + length[k]]``; codes are 0, 1, … in order of first appearance."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    first_hash, second_hash = _hashes(buffer, offset, length)
    codes, firsts = _codes_of(first_hash)
    if np.array_equal(second_hash, second_hash[firsts][codes]):
        return codes, firsts
    return _coded_by_dict(data, offset, length)


def _coded_by_dict(data: bytes, offset: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same result through a dict of the values (two different values hashed alike twice)."""
    index: dict[bytes, int] = {}
    firsts: list[int] = []
    codes = np.empty(len(offset), dtype=np.int64)
    for k, (start, size) in enumerate(zip(offset.tolist(), length.tolist(), strict=True)):
        code = index.setdefault(data[start : start + size], len(index))
        if code == len(firsts):
            firsts.append(k)
        codes[k] = code
    return codes, np.array(firsts, dtype=np.int64)


@njit(cache=True, nogil=True)
def _hashes(buffer: np.ndarray, offset: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = np.empty(offset.shape[0], dtype=np.uint64)
    second = np.empty(offset.shape[0], dtype=np.uint64)
    for k in range(offset.shape[0]):
        fnv = FNV_OFFSET
        mixed = np.uint64(length[k])
        for i in range(offset[k], offset[k] + length[k]):
            fnv = (fnv ^ np.uint64(buffer[i])) * FNV_PRIME
            mixed = mixed * GOLDEN + np.uint64(buffer[i]) + np.uint64(1)
        mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        first[k] = fnv
        second[k] = mixed ^ (mixed >> np.uint64(31))
    return first, second


@njit(cache=True, nogil=True)
def _codes_of(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each hash's code, 0, 1, … by first appearance; and the first index of every code."""
    n = hashes.shape[0]
    codes = np.empty(n, dtype=np.int64)
    firsts = np.empty(n, dtype=np.int64)
    capacity = 1024
    table = np.full(capacity, -1, dtype=np.int64)  # slot → code (-1: empty)
    keys = np.zeros(capacity, dtype=np.uint64)  # slot → its code's hash
    n_codes = 0
    for k in range(n):
        mask = np.uint64(capacity - 1)
        slot = hashes[k] & mask
        while table[slot] >= 0 and keys[slot] != hashes[k]:
            slot = (slot + np.uint64(1)) & mask
        if table[slot] >= 0:
            codes[k] = table[slot]
            continue
        table[slot] = n_codes
        keys[slot] = hashes[k]
        firsts[n_codes] = k
        codes[k] = n_codes
        n_codes += 1
        if 2 * n_codes > capacity:  # keep the table at most half full: twice as big, refilled
            capacity *= 2
            table = np.full(capacity, -1, dtype=np.int64)
            keys = np.zeros(capacity, dtype=np.uint64)
            mask = np.uint64(capacity - 1)
            for code in range(n_codes):
                slot = hashes[firsts[code]] & mask
                while table[slot] >= 0:
                    slot = (slot + np.uint64(1)) & mask
                table[slot] = code
                keys[slot] = hashes[firsts[code]]
    return codes, firsts[:n_codes].copy()
