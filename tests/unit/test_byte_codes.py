"""Coding byte ranges by first appearance: what a dict of the strings gives, collisions included."""

from __future__ import annotations

import numpy as np
import pytest

from soundsync_core.db import binary_copy, byte_codes
from soundsync_core.db.binary_copy import ARRAY, BIGINT, CopyFormatError, parse_rows
from soundsync_core.taste.profile import Coder

VALUES = ["4Z8W4fKeB5YxbusRsdQVPb", "", "Björk", "4Z8W4fKeB5YxbusRsdQVPb", "ø", "a", "", "Björk",
          "mbid:5b11f4ce-a62d-471e-81fc-a69a8278c7da", "a", "ø"]


def _buffer(values: list[str]) -> tuple[bytes, np.ndarray, np.ndarray]:
    encoded = [v.encode() for v in values]
    length = np.array([len(e) for e in encoded], dtype=np.int64)
    return b"".join(encoded), np.cumsum(length) - length, length


def _expected(values: list[str]) -> tuple[list[int], list[int]]:
    codes = Coder().code(values).tolist()
    return codes, [codes.index(c) for c in range(max(codes) + 1)]


def test_codes_are_a_dicts_codes_in_order_of_first_appearance() -> None:
    data, offset, length = _buffer(VALUES)
    codes, firsts = byte_codes.ByteCoder().code(data, offset, length)
    assert (codes.tolist(), firsts.tolist()) == _expected(VALUES)


def test_many_values_grow_the_table_and_keep_the_codes() -> None:
    values = [f"id{i % 3001}" for i in range(20_000)]
    codes, firsts = byte_codes.ByteCoder().code(*_buffer(values))
    assert (codes.tolist(), firsts.tolist()) == _expected(values)


def test_values_that_collide_in_the_first_hash_are_told_apart_by_the_second() -> None:
    values = [*VALUES, "abc", "abd", "abc", "abd"]
    coder = byte_codes.ByteCoder(first_bits=np.uint64(0))  # every first hash is 0
    codes, firsts = coder.code(*_buffer(values))
    assert (codes.tolist(), firsts.tolist()) == _expected(values)


def test_a_coder_goes_on_across_buffers_as_one_dict_would() -> None:
    values = [f"id{(i * 7) % 3001}" for i in range(9_000)]
    coder = byte_codes.ByteCoder()
    codes, new_firsts = [], []
    for start in range(0, len(values), 2_500):  # the table grows while later parts are coded
        part = values[start : start + 2_500]
        part_codes, firsts = coder.code(*_buffer(part))
        codes += part_codes.tolist()
        new_firsts += [start + f for f in firsts.tolist()]
    assert (codes, new_firsts) == _expected(values)
    assert len(coder) == max(codes) + 1


def test_bytes_that_are_not_binary_copy_rows_are_refused() -> None:
    with pytest.raises(CopyFormatError):
        parse_rows(b"id,name\n1,x\n", (BIGINT,))
    one_row_two_fields = (binary_copy.SIGNATURE + bytes(8) + (2).to_bytes(2, "big")
                          + (8).to_bytes(4, "big") + (7).to_bytes(8, "big")
                          + (-1).to_bytes(4, "big", signed=True) + b"\xff\xff")
    assert parse_rows(one_row_two_fields, (BIGINT, ARRAY)).bigints.tolist() == [[7, 0]]
    with pytest.raises(CopyFormatError):
        parse_rows(one_row_two_fields, (BIGINT,))
