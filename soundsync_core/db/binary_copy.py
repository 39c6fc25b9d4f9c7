"""PostgreSQL's binary COPY output, parsed by compiled passes: no Python object per value.

The format (PostgreSQL docs, "COPY — Binary Format"): an 11-byte signature, a 32-bit flags
field and a header extension; then per row a 16-bit field count (-1 ends the data) and per
field a 32-bit length (-1: NULL) and the value, all big-endian. An array value
(``array_send``) is its number of dimensions, a has-NULLs flag, the element type, a size and
lower bound per dimension, then per element a 32-bit length (-1: NULL) and the element.

:func:`parse_rows` reads rows whose fields are each a ``bigint``, a ``text`` or a
one-dimensional array of ``text`` or ``integer``; what it gives back points into the buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
# Field kinds of :func:`parse_rows`.
BIGINT, TEXT, ARRAY = 0, 1, 2


class CopyFormatError(ValueError):
    """The bytes are not binary COPY rows of the expected fields."""


@dataclass(frozen=True)
class Rows:
    """Parsed rows: ``bigints[r, f]`` for BIGINT fields; for every TEXT field and every array
    element, where its bytes are. ``spans[r, f]`` is the range of field ``f``'s elements in the
    element arrays (a TEXT field: one element; a NULL: an empty range, ``null[r, f]`` set)."""

    bigints: np.ndarray  # rows × fields, int64
    null: np.ndarray  # rows × fields, bool
    spans: np.ndarray  # rows × fields × 2 (start, end) into the element arrays
    offset: np.ndarray  # per element: where its bytes start in the buffer (-1: NULL element)
    length: np.ndarray  # per element: how many bytes (int32)


def parse_rows(data: bytes, kinds: tuple[int, ...]) -> Rows:
    """The rows of one binary COPY output whose fields are of ``kinds`` (BIGINT, TEXT, ARRAY)."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    if data[: len(SIGNATURE)] != SIGNATURE or len(data) < len(SIGNATURE) + 8:
        raise CopyFormatError("not PostgreSQL binary COPY output")
    start = len(SIGNATURE) + 8 + int.from_bytes(data[len(SIGNATURE) + 4 : len(SIGNATURE) + 8], "big")
    field_kinds = np.array(kinds, dtype=np.int64)
    n_rows, n_elements = _count(buffer, start, field_kinds)
    if n_rows < 0:
        raise CopyFormatError("binary COPY rows do not have the expected fields")
    rows = Rows(
        np.zeros((n_rows, len(kinds)), dtype=np.int64),
        np.zeros((n_rows, len(kinds)), dtype=np.bool_),
        np.zeros((n_rows, len(kinds), 2), dtype=np.int64),
        np.zeros(n_elements, dtype=np.int64),
        np.zeros(n_elements, dtype=np.int32),  # a value's length: at most 1 GB in PostgreSQL
    )
    _fill(buffer, start, field_kinds, rows.bigints, rows.null, rows.spans, rows.offset, rows.length)
    return rows


def int4_values(data: bytes, offset: np.ndarray) -> np.ndarray:
    """The ``integer`` elements whose bytes start at ``offset`` (-1: NULL, read as 0), as int64."""
    return _int4_values(np.frombuffer(data, dtype=np.uint8), offset)


@njit(cache=True, nogil=True)
def int32_at(buffer: np.ndarray, at: int) -> int:
    """The big-endian signed 32-bit integer at ``buffer[at]`` (compiled; call it from compiled code)."""
    value = (np.int64(buffer[at]) << 24) | (np.int64(buffer[at + 1]) << 16) \
        | (np.int64(buffer[at + 2]) << 8) | np.int64(buffer[at + 3])
    return value - (np.int64(1) << 32) if value >= (np.int64(1) << 31) else value


@njit(cache=True, nogil=True)
def _int64(buffer: np.ndarray, at: int) -> int:
    high = int32_at(buffer, at)
    low = int32_at(buffer, at + 4) & np.int64(0xFFFFFFFF)
    return (high << 32) | low


@njit(cache=True, nogil=True)
def _count(buffer: np.ndarray, at: int, kinds: np.ndarray) -> tuple[int, int]:
    """(rows, elements), or (-1, 0) when the bytes do not fit the fields."""
    rows = 0
    elements = 0
    end = buffer.shape[0]
    while at + 2 <= end:
        fields = (np.int64(buffer[at]) << 8) | np.int64(buffer[at + 1])
        at += 2
        if fields == 0xFFFF:
            return rows, elements
        if fields != kinds.shape[0]:
            return -1, 0
        for f in range(kinds.shape[0]):
            size = int32_at(buffer, at)
            at += 4
            if size < 0:
                continue
            if kinds[f] == 1:
                elements += 1
            elif kinds[f] == 2:
                dims = int32_at(buffer, at)
                if dims > 1:
                    return -1, 0
                if dims == 1:
                    elements += int32_at(buffer, at + 12)
            at += size
        rows += 1
    return -1, 0


@njit(cache=True, nogil=True)
def _fill(buffer: np.ndarray, at: int, kinds: np.ndarray, bigints: np.ndarray, null: np.ndarray,
          spans: np.ndarray, offset: np.ndarray, length: np.ndarray) -> None:
    element = 0
    for r in range(bigints.shape[0]):
        at += 2
        for f in range(kinds.shape[0]):
            size = int32_at(buffer, at)
            at += 4
            spans[r, f, 0] = element
            if size < 0:
                null[r, f] = True
                spans[r, f, 1] = element
                continue
            if kinds[f] == 0:
                bigints[r, f] = _int64(buffer, at)
            elif kinds[f] == 1:
                offset[element] = at
                length[element] = size
                element += 1
            elif int32_at(buffer, at) == 1:
                count = int32_at(buffer, at + 12)
                inner = at + 20
                for _ in range(count):
                    item = int32_at(buffer, inner)
                    inner += 4
                    offset[element] = inner if item >= 0 else -1
                    length[element] = max(item, 0)
                    inner += max(item, 0)
                    element += 1
            spans[r, f, 1] = element
            at += size


@njit(cache=True, nogil=True)
def _int4_values(buffer: np.ndarray, offset: np.ndarray) -> np.ndarray:
    out = np.zeros(offset.shape[0], dtype=np.int64)
    for k in range(offset.shape[0]):
        if offset[k] >= 0:
            out[k] = int32_at(buffer, offset[k])
    return out
