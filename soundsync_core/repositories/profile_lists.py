"""Every member's ranked lists for a recluster, coded without a Python string per listed item.

The same lists as :func:`profiles.merged_lists` of :func:`profiles.latest_snapshots`, and the
same codes as a :class:`~soundsync_core.taste.profile.Coder` gives them (dense, in order of
first appearance, members by user id): but read as binary COPY, a chunk of members at a time,
and coded by compiled passes over its bytes (:mod:`soundsync_core.db.binary_copy`). At 100k
members that load decoded 10M ids into Python strings and looked each up in a dict: about 3 of
its 4 s of CPU. Only the ids of the distinct items become strings, and a member with several
sources, whose lists are merged by rank fusion in Python, has their own rows decoded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
from numba import njit

from soundsync_core.db.binary_copy import ARRAY, BIGINT, TEXT, Rows, int4_values, int32_at, parse_rows
from soundsync_core.db.byte_codes import ByteCoder
from soundsync_core.repositories.profiles import merged_lists
from soundsync_core.taste.profile import Listing

# The rows of profiles.latest_snapshots, without the display name.
_SNAPSHOTS = """SELECT DISTINCT ON (p.user_id, p.source) p.user_id, p.source, p.artist_ids,
                      p.artist_counts, p.track_ids, p.track_counts
               FROM profiles p JOIN members m USING (user_id)
               WHERE ($1::bigint[] IS NULL OR p.user_id = ANY($1::bigint[]))
                 AND p.user_id >= $2 AND ($3::bigint IS NULL OR p.user_id < $3)
               ORDER BY p.user_id, p.source, p.captured_at DESC"""
_KINDS = (BIGINT, TEXT, ARRAY, ARRAY, ARRAY, ARRAY)
_USER, _SOURCE, _ARTISTS, _ARTIST_COUNTS, _TRACKS, _TRACK_COUNTS = range(6)


# Members per COPY: the load holds one chunk's bytes and element arrays at a time, not
# everyone's (at a million members the load's peak fell from 5.26 to 3.77 GB), and codes one
# chunk while PostgreSQL sends the next.
CHUNK_MEMBERS = 25_000


@dataclass(frozen=True)
class CodedLists:
    """Members (ascending user ids), their artists and tracks as listings of codes, and the id
    of every code (in code order)."""

    user_ids: np.ndarray
    artists: Listing
    tracks: Listing
    artist_ids: list[str]
    track_ids: list[str]


async def load_coded_lists(
    conn: asyncpg.Connection, user_ids: Sequence[int] | None, *, chunk_members: int = CHUNK_MEMBERS
) -> CodedLists:
    """Every member's latest lists (merged across sources), coded (see the module), read in
    chunks of ``chunk_members`` members."""
    coding = _Coding()
    pending: asyncio.Future[None] | None = None
    try:
        for wanted, start, end in await _chunks(conn, user_ids, chunk_members):
            data = await _copy_chunk(conn, wanted, start, end)
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(asyncio.to_thread(coding.add, data))
    finally:
        if pending is not None:  # the last chunk; after a failure, the thread ends first
            await pending
    return coding.lists()


async def _chunks(
    conn: asyncpg.Connection, user_ids: Sequence[int] | None, chunk_members: int
) -> list[tuple[list[int] | None, int, int | None]]:
    """Each chunk of ``chunk_members`` members (of ``user_ids``, or of every member): the ids
    it asks for (None: all), its first user id and the next chunk's (None: the last chunk)."""
    if user_ids is not None:
        ids = sorted(set(user_ids))
        parts = [ids[k : k + chunk_members] for k in range(0, len(ids), chunk_members)]
    else:
        parts = [[r["user_id"]] for r in await conn.fetch(
            """SELECT user_id FROM (SELECT user_id, row_number() OVER (ORDER BY user_id) AS n
                                    FROM members) m
               WHERE n % $1 = 1 ORDER BY user_id""", chunk_members)]
    starts = [part[0] for part in parts]
    ends: list[int | None] = [*starts[1:], None] if parts else []
    return [(part if user_ids is not None else None, start, end)
            for part, start, end in zip(parts, starts, ends, strict=True)]


async def _copy_chunk(
    conn: asyncpg.Connection, user_ids: list[int] | None, start: int, end: int | None
) -> bytearray:
    """The binary COPY output of the snapshots of the members from ``start`` to before ``end``."""
    # One growing buffer rather than chunks joined at the end: the whole output is held once
    # (a large buffer grows by remapping its pages, without a copy), not twice.
    data = bytearray()

    async def keep(chunk: bytes) -> None:
        data.extend(chunk)

    await conn.copy_from_query(_SNAPSHOTS, user_ids, start, end, output=keep, format="binary")
    return data


class _Coding:
    """The chunks' members and listings as they are coded, one chunk after the other."""

    def __init__(self) -> None:
        self._users: list[np.ndarray] = []
        self._n_members = 0
        self._views = {view: _ViewParts() for view in ("artist", "track")}

    def add(self, data: bytearray) -> None:
        """Code one chunk's COPY output (its members come after every member coded so far)."""
        rows = parse_rows(data, _KINDS)
        users = rows.bigints[:, _USER]
        first_row = np.r_[True, users[1:] != users[:-1]] if len(users) else np.zeros(0, dtype=bool)
        member = np.cumsum(first_row) - 1
        sizes = np.bincount(member, minlength=int(first_row.sum()))
        merged = _merge_several(data, rows, member, sizes)
        for view, (ids_field, counts_field) in (("artist", (_ARTISTS, _ARTIST_COUNTS)),
                                                ("track", (_TRACKS, _TRACK_COUNTS))):
            self._views[view].add(data, rows, member, sizes, ids_field, counts_field, merged, view,
                                  self._n_members)
        self._users.append(users[first_row])
        self._n_members += len(sizes)

    def lists(self) -> CodedLists:
        artists, artist_ids = self._views["artist"].listing()
        tracks, track_ids = self._views["track"].listing()
        users = np.concatenate(self._users) if self._users else np.zeros(0, dtype=np.int64)
        return CodedLists(users, artists, tracks, artist_ids, track_ids)


class _ViewParts:
    """One view's coder and the listings of the chunks coded so far."""

    def __init__(self) -> None:
        self._coder = ByteCoder()
        self.ids: list[str] = []
        self._columns: list[list[np.ndarray]] = [[], [], [], []]  # member, code, rank, count

    def add(
        self, data: bytearray, rows: Rows, member: np.ndarray, sizes: np.ndarray, ids_field: int,
        counts_field: int, merged: dict[int, Any], view: str, first_member: int,
    ) -> None:
        """Code one chunk's listing of this view; ``first_member`` is its first member's index."""
        extra = _Extra(len(data))
        elements = _listing(data, rows, member, sizes, ids_field, counts_field, merged, view, extra)
        data.extend(extra.bytes())  # the merged lists' ids, where their offsets point
        codes, firsts = self._coder.code(data, elements.offset, elements.length)
        offsets, lengths = elements.offset[firsts].tolist(), elements.length[firsts].tolist()
        self.ids += [data[o : o + n].decode() for o, n in zip(offsets, lengths, strict=True)]
        for parts, column in zip(self._columns, (elements.member + np.int32(first_member), codes,
                                                 elements.rank, elements.count), strict=True):
            parts.append(column)

    def listing(self) -> tuple[Listing, list[str]]:
        """The whole listing (each column joined and its parts let go before the next)."""
        joined = []
        for parts in self._columns:
            joined.append(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32))
            parts.clear()
        return Listing(*joined), self.ids


@dataclass(frozen=True)
class _Elements:
    """One view's listed items, members in order: where each id's bytes are, rank and count."""

    member: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    rank: np.ndarray
    count: np.ndarray


class _Extra:
    """The UTF-8 ids of merged lists, placed after the COPY bytes."""

    def __init__(self, start: int) -> None:
        self._parts: list[bytes] = []
        self._end = start

    def add(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        encoded = [item.encode() for item in ids]
        length = np.fromiter(map(len, encoded), np.int64, len(encoded))
        offset = self._end + np.cumsum(length) - length
        self._parts.extend(encoded)
        self._end += int(length.sum())
        return offset, length

    def bytes(self) -> bytes:
        return b"".join(self._parts)


def _merge_several(
    data: bytearray, rows: Rows, member: np.ndarray, sizes: np.ndarray
) -> dict[int, Any]:
    """Member index → the merged lists of a member with several sources."""
    several = np.flatnonzero(sizes[member] > 1)
    if not len(several):
        return {}
    snapshots = [_snapshot(data, rows, int(r)) for r in several]
    lists = merged_lists(snapshots)
    return {int(m): ((a, ac), (t, tc))
            for m, a, ac, t, tc in zip(np.unique(member[several]).tolist(), lists.artist_ids,
                                       lists.artist_counts, lists.track_ids, lists.track_counts,
                                       strict=True)}


def _snapshot(data: bytearray, rows: Rows, r: int) -> dict[str, Any]:
    """One row as :func:`profiles.latest_snapshots` gives it."""

    def texts(field: int) -> list[str]:
        start, end = rows.spans[r, field]
        return [data[o : o + n].decode() for o, n in zip(rows.offset[start:end].tolist(),
                                                          rows.length[start:end].tolist(), strict=True)]

    def counts(field: int) -> list[int | None] | None:
        if rows.null[r, field]:
            return None
        start, end = rows.spans[r, field]
        values = int4_values(data, rows.offset[start:end]).tolist()
        return [v if o >= 0 else None for v, o in zip(values, rows.offset[start:end].tolist(), strict=True)]

    return {"user_id": int(rows.bigints[r, _USER]), "source": texts(_SOURCE)[0],
            "artist_ids": texts(_ARTISTS), "artist_counts": counts(_ARTIST_COUNTS),
            "track_ids": texts(_TRACKS), "track_counts": counts(_TRACK_COUNTS)}


def _listing(
    data: bytearray, rows: Rows, member: np.ndarray, sizes: np.ndarray, ids_field: int,
    counts_field: int, merged: dict[int, Any], view: str, extra: _Extra,
) -> _Elements:
    """One view's elements: single-source members' straight from the rows, merged members'
    from their merged lists; members in order, each list in rank order."""
    single = np.flatnonzero(sizes[member] == 1)
    fits, *listed = _single_source_elements(
        np.frombuffer(data, dtype=np.uint8), rows.offset, rows.length, rows.spans[:, ids_field],
        rows.spans[:, counts_field], rows.null[:, counts_field], single, member)
    if not fits:
        raise ValueError(f"a profile lists a NULL {view} id, or counts that do not line up with its ids")
    if not merged:
        return _Elements(*listed)
    parts = []
    for m, lists in merged.items():
        ids, counts = lists[0] if view == "artist" else lists[1]
        offset, length = extra.add(ids)
        values = np.array([c or 0 for c in counts] if counts is not None else [0] * len(ids), dtype=np.int32)
        parts.append((np.full(len(ids), m, dtype=np.int32), offset, length.astype(np.int32),
                      np.arange(1, len(ids) + 1, dtype=np.int32), values))
    fused = [np.concatenate(column) for column in zip(*parts, strict=True)]
    # Both are in member order and share no member: each element's place in the merged order
    # is its place in its own part plus the other part's elements of smaller members.
    at_listed = np.arange(len(listed[0])) + np.searchsorted(fused[0], listed[0])
    at_fused = np.arange(len(fused[0])) + np.searchsorted(listed[0], fused[0])
    columns = []
    for a, b in zip(listed, fused, strict=True):
        column = np.empty(len(a) + len(b), dtype=a.dtype)
        column[at_listed], column[at_fused] = a, b
        columns.append(column)
    return _Elements(*columns)


@njit(cache=True, nogil=True)
def _single_source_elements(  # the parsed rows' arrays, then which rows and their members
    buffer: np.ndarray, offset: np.ndarray, length: np.ndarray, id_spans: np.ndarray,
    count_spans: np.ndarray, uncounted: np.ndarray, single: np.ndarray, member: np.ndarray,
) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fits, member, offset, length, rank, count) of every id listed by the ``single`` rows, in
    row order; counts 0 where unknown. ``fits`` is false when an id is NULL or counts do not
    line up with ids."""
    total = 0
    for r in single:
        total += id_spans[r, 1] - id_spans[r, 0]
    # 32 bits where they are enough (a count is an ``integer`` column): only the offsets into
    # the COPY output, which passes 2 GB at a million members, need 64.
    out_member = np.empty(total, dtype=np.int32)
    out_offset = np.empty(total, dtype=np.int64)
    out_length = np.empty(total, dtype=np.int32)
    out_rank = np.empty(total, dtype=np.int32)
    out_count = np.zeros(total, dtype=np.int32)
    at = 0
    for r in single:
        start, end = id_spans[r, 0], id_spans[r, 1]
        counted = not uncounted[r]
        if counted and count_spans[r, 1] - count_spans[r, 0] != end - start:
            return False, out_member, out_offset, out_length, out_rank, out_count
        for k in range(end - start):
            if offset[start + k] < 0:
                return False, out_member, out_offset, out_length, out_rank, out_count
            out_member[at] = member[r]
            out_offset[at] = offset[start + k]
            out_length[at] = length[start + k]
            out_rank[at] = k + 1
            where = offset[count_spans[r, 0] + k] if counted else -1
            if where >= 0:
                out_count[at] = int32_at(buffer, where)
            at += 1
    return True, out_member, out_offset, out_length, out_rank, out_count
