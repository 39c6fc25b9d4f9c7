"""Dense codes for many strings held as byte ranges of one buffer, in order of first appearance.

What a dict from string to the next free code gives (:class:`~soundsync_core.taste.profile.Coder`),
without a Python string per value. One compiled pass hashes every range twice, with two
unrelated 64-bit hashes (FNV-1a, and a multiply-add hash with a splitmix64 finish), and looks the
pair up in an open-addressing table of the distinct values seen so far, giving an unseen pair
the next code. Values that share the first hash are told apart by the second; two different
strings would share a code only by colliding in both at once (about 2⁻¹²⁸ a pair). The table
holds the hashes rather than pointing back at the values' bytes: comparing bytes there read a
random place of the buffer for every value, three times slower.

Memory is the codes (32 bits a value) and a table the size of the distinct values: at a million
members a view's 50M values once needed four 64-bit arrays of that length (two hashes, codes
and first indices).
"""

from __future__ import annotations

import numpy as np
from numba import njit

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)


class ByteCoder:
    """Codes that go on across buffers: values first seen in a later buffer get the next free
    codes, values seen before keep theirs (what one :class:`~soundsync_core.taste.profile.Coder`
    gives a sequence of lists; fewer than 2³¹ distinct values). The table holds hashes only, so
    no earlier buffer is kept."""

    def __init__(self, *, first_bits: np.uint64 = ALL_BITS) -> None:
        self._table = np.full(2048, -1, dtype=np.int64)  # slot → code (-1: empty)
        self._first_hash = np.empty(1024, dtype=np.uint64)  # code → its first hash (grows)
        self._second_hash = np.empty(1024, dtype=np.uint64)  # code → its second hash (grows)
        self._size = 0
        self._first_bits = first_bits  # all bits; the tests keep none, so that every value
        # collides in the first hash and only the second tells them apart

    def __len__(self) -> int:
        return self._size

    def code(
        self, data: bytes | bytearray, offset: np.ndarray, length: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(code of every value (int32), index of the first value of every code new here, in
        code order). Values are the bytes ``data[offset[k] : offset[k] + length[k]]``."""
        codes, firsts, self._table, self._first_hash, self._second_hash, self._size = _codes(
            np.frombuffer(data, dtype=np.uint8), offset, length, self._first_bits,
            self._table, self._first_hash, self._second_hash, self._size)
        return codes, firsts


@njit(cache=True, nogil=True)
def _hashes(buffer: np.ndarray, start: int, size: int) -> tuple[np.uint64, np.uint64]:
    fnv = FNV_OFFSET
    mixed = np.uint64(size)
    for i in range(start, start + size):
        fnv = (fnv ^ np.uint64(buffer[i])) * FNV_PRIME
        mixed = mixed * GOLDEN + np.uint64(buffer[i]) + np.uint64(1)
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return fnv, mixed ^ (mixed >> np.uint64(31))


@njit(cache=True, nogil=True)
def _codes(  # the values, then the coder's state (see ByteCoder)
    buffer: np.ndarray, offset: np.ndarray, length: np.ndarray, first_bits: np.uint64,
    table: np.ndarray, first_hash: np.ndarray, second_hash: np.ndarray, n_codes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """:meth:`ByteCoder.code`, returning the coder's new state after the codes and firsts."""
    n = offset.shape[0]
    codes = np.empty(n, dtype=np.int32)
    firsts = np.empty(1024, dtype=np.int64)  # new code → index of its first value (grows)
    n_before = n_codes
    capacity = table.shape[0]
    for k in range(n):
        h1, h2 = _hashes(buffer, offset[k], length[k])
        h1 &= first_bits
        mask = np.uint64(capacity - 1)
        slot = h1 & mask
        while table[slot] >= 0 and (first_hash[table[slot]] != h1 or second_hash[table[slot]] != h2):
            slot = (slot + np.uint64(1)) & mask
        if table[slot] >= 0:
            codes[k] = table[slot]
            continue
        if n_codes == first_hash.shape[0]:
            first_hash = np.concatenate((first_hash, np.empty(n_codes, dtype=np.uint64)))
            second_hash = np.concatenate((second_hash, np.empty(n_codes, dtype=np.uint64)))
        if n_codes - n_before == firsts.shape[0]:
            firsts = np.concatenate((firsts, np.empty(firsts.shape[0], dtype=np.int64)))
        table[slot] = n_codes
        firsts[n_codes - n_before] = k
        first_hash[n_codes] = h1
        second_hash[n_codes] = h2
        codes[k] = n_codes
        n_codes += 1
        if 2 * n_codes > capacity:  # keep the table at most half full: twice as big, refilled
            capacity *= 2
            table = np.full(capacity, -1, dtype=np.int64)
            mask = np.uint64(capacity - 1)
            for code in range(n_codes):
                slot = first_hash[code] & mask
                while table[slot] >= 0:
                    slot = (slot + np.uint64(1)) & mask
                table[slot] = code
    return codes, firsts[: n_codes - n_before].copy(), table, first_hash, second_hash, n_codes
