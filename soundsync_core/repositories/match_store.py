"""A run's matches: one partition per run, written in binary COPY, read with their reasons.

Each run's matches are a partition of ``matches`` of their own (``matches_run_<id>``, migration
0008): COPYed into a bare table, indexed once, attached when the run goes live (by
:func:`runs.switch_live`), dropped with the run. Matches and ``user_clusters`` have no foreign
key to ``members``: whoever deletes a member deletes their rows there too
(:func:`delete_member_rows`).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

from soundsync_core.repositories.members import MATCH_ELIGIBILITY
from soundsync_core.repositories.visibility import listed_to
from soundsync_core.taste.bulk_reasons import (
    PACKED,
    VIEW_NUMBER,
    expand_packed,
    expand_reasons,
    is_compact,
    item_ids,
    packed_columns,
    unpack,
)
from soundsync_core.taste.match_rows import MatchRows
from soundsync_core.taste.profile import AUDIO_FEATURES

# Taken exclusively while a run goes live and shared while a member is deleted, so a member who
# unlinks during a recluster cannot leave rows in the run that is being switched live.
RUN_SWITCH_LOCK_KEY = 0x50554E44_0003
MATCH_ROWS_PER_COPY = 250_000
MATCH_COLUMNS = ("run_id", "scope_id", "user_id", "rank", "other_id", "score", "why")


def match_partition(run_id: int) -> str:
    """The table holding one run's matches (an integer in a fixed pattern: safe as an identifier)."""
    return f"matches_run_{int(run_id)}"


async def create_match_partition(conn: asyncpg.Connection, run_id: int) -> None:
    """A bare table for the run's matches: no index yet, not attached yet (see :func:`runs.switch_live`)."""
    await conn.execute(f"CREATE TABLE {match_partition(run_id)} (LIKE matches)")


async def index_match_partition(conn: asyncpg.Connection, run_id: int) -> None:
    """Build the run's primary key in one pass, after its rows are in."""
    await conn.execute(
        f"ALTER TABLE {match_partition(run_id)} ADD PRIMARY KEY (run_id, scope_id, user_id, rank)"
    )


async def drop_match_partitions(conn: asyncpg.Connection, run_ids: Iterable[int]) -> None:
    """Drop the matches of these runs (attached or not, present or not)."""
    for run_id in run_ids:
        await conn.execute(f"DROP TABLE IF EXISTS {match_partition(run_id)}")


async def delete_member_rows(conn: asyncpg.Connection, user_id: int) -> None:
    """The member's tribe rows and every match of or about them, in every run.

    Call inside the transaction that deletes the member: these tables have no foreign key.
    """
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", RUN_SWITCH_LOCK_KEY)
    await conn.execute("DELETE FROM user_clusters WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM matches WHERE user_id = $1 OR other_id = $1", user_id)

# PostgreSQL's binary COPY: a signature, flags and header extension length, then per row the
# field count and each field's byte length and big-endian value; -1 ends the data.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_MATCH_ROW = np.dtype([
    ("fields", ">i2"),
    ("run_len", ">i4"), ("run_id", ">i8"),
    ("scope_len", ">i4"), ("scope_id", ">i8"),
    ("user_len", ">i4"), ("user_id", ">i8"),
    ("rank_len", ">i4"), ("rank", ">i2"),
    ("other_len", ">i4"), ("other_id", ">i8"),
    ("score_len", ">i4"), ("score", ">f4"),
    ("why_len", ">i4"), ("why", f"V{PACKED.itemsize}"),
])


def match_copy_chunks(run_id: int, pieces: Iterable[MatchRows]) -> Iterator[bytes]:
    """The rows of ``pieces`` in binary COPY format, :data:`MATCH_ROWS_PER_COPY` per chunk
    (the last one shorter; a chunk may hold rows of several pieces), built with numpy alone:
    every field has a fixed size (CPU: iterate it off the loop)."""
    # The fields that are the same in every row (counts, lengths, the run) are written once;
    # each chunk then writes only its own values into the same buffer.
    buffer = np.empty(len(_COPY_HEADER) + MATCH_ROWS_PER_COPY * _MATCH_ROW.itemsize + len(_COPY_TRAILER),
                      np.uint8)
    buffer[: len(_COPY_HEADER)] = np.frombuffer(_COPY_HEADER, np.uint8)
    body = buffer[len(_COPY_HEADER) : len(_COPY_HEADER) + MATCH_ROWS_PER_COPY * _MATCH_ROW.itemsize]
    body = body.view(_MATCH_ROW)
    body["fields"] = len(MATCH_COLUMNS)
    for name, width in (("run", 8), ("scope", 8), ("user", 8), ("rank", 2), ("other", 8),
                        ("score", 4), ("why", PACKED.itemsize)):
        body[f"{name}_len"] = width
    body["run_id"] = run_id
    filled = 0
    for rows in pieces:
        start = 0
        while start < len(rows):
            end = min(len(rows), start + MATCH_ROWS_PER_COPY - filled)
            out = body[filled : filled + end - start]
            out["scope_id"] = rows.scope_id[start:end]
            out["user_id"] = rows.user_id[start:end]
            out["rank"] = rows.rank[start:end]
            out["other_id"] = rows.other_id[start:end]
            out["score"] = rows.score[start:end]
            out["why"] = np.ascontiguousarray(rows.reasons(start, end)).view(f"V{PACKED.itemsize}")
            filled += end - start
            start = end
            if filled == MATCH_ROWS_PER_COPY:
                yield _finished(buffer, filled)
                filled = 0
    if filled:
        yield _finished(buffer, filled)


def _finished(buffer: np.ndarray, rows: int) -> bytes:
    """The chunk of the buffer's first ``rows`` rows, with the trailer."""
    stop = len(_COPY_HEADER) + rows * _MATCH_ROW.itemsize
    buffer[stop : stop + len(_COPY_TRAILER)] = np.frombuffer(_COPY_TRAILER, np.uint8)
    return buffer[: stop + len(_COPY_TRAILER)].tobytes()


async def copy_run_items(conn: asyncpg.Connection, run_id: int, items: Mapping[str, np.ndarray]) -> None:
    """Which artist, track or genre each column of the run's packed reasons is."""
    await conn.copy_records_to_table(
        "run_items",
        records=[(run_id, VIEW_NUMBER[view], col, str(item))
                 for view, ids in items.items() for col, item in enumerate(ids.tolist())],
        columns=["run_id", "view", "col", "item_id"],
    )


async def copy_match_chunk(conn: asyncpg.Connection, run_id: int, chunk: bytes) -> None:
    """COPY one chunk made by :func:`match_copy_chunks` into the run's partition."""
    await conn.copy_to_table(
        match_partition(run_id), source=io.BytesIO(chunk), columns=list(MATCH_COLUMNS),
        format="binary",
    )


async def storage_sizes_mb(conn: asyncpg.Connection, run_id: int) -> dict[str, float]:
    """MB on disk of the database, the profiles (with indexes) and one run's matches partition."""
    row = await conn.fetchrow(
        """SELECT pg_database_size(current_database()) AS database,
                  pg_total_relation_size('profiles') AS profiles,
                  pg_total_relation_size($1::regclass) AS run_matches""",
        match_partition(run_id),
    )
    return {name: row[name] / 2**20 for name in ("database", "profiles", "run_matches")}


def _listed_matches(run: str, user: str, scope: str, limit: str, *, when: str = "true") -> str:
    """SQL: the member's stored matches in a run of a scope that may still be listed to them,
    best first (``when``: a condition on the outer row, checked before anything is read)."""
    return f"""SELECT m.other_id, m.score, m.reasons, m.why, o.display_name, m.rank
        FROM matches m JOIN members o ON o.user_id = m.other_id
        WHERE {when} AND m.run_id = {run} AND m.scope_id = {scope} AND m.user_id = {user}
          AND {listed_to(user, "o", scope)}
        ORDER BY m.rank
        LIMIT {limit}"""  # noqa: S608 (constant fragments)


_LIVE_MATCHES = f"""SELECT l.run_id, x.other_id, x.score, x.reasons, x.why, x.display_name
    FROM live_runs l CROSS JOIN LATERAL ({_listed_matches("l.run_id", "$2", "$1", "$3")}) x
    WHERE l.scope_id = $1
    ORDER BY x.rank"""  # noqa: S608 (a constant fragment)
# The member's eligibility (members.MATCH_ELIGIBILITY: $1 member, $2 guild or NULL, $3 scope) and,
# when they are in the scope's live run, their stored matches as _LIVE_MATCHES reads them ($4
# limit): one row per match, or one row of eligibility alone.
_CHECKED_LIVE_MATCHES = f"""SELECT e.visibility, e.has_profile, e.in_guild, e.run_id, e.in_run,
        x.other_id, x.score, x.reasons, x.why, x.display_name
    FROM ({MATCH_ELIGIBILITY} OFFSET 0) e  -- evaluated once, not again for every match row
    LEFT JOIN LATERAL ({_listed_matches("e.run_id", "$1", "$3", "$4", when="e.in_run")}) x ON true
    ORDER BY x.rank"""  # noqa: S608 (constant fragments)


@dataclass(frozen=True)
class StoredReasons:
    """A stored match's reasons as read, before they are made readable (:func:`readable_reasons`)."""

    run_id: int
    why: bytes | None  # the packed record (None: a run older than the packed form)
    reasons: str | None  # those older runs' JSON
    reader_is_b: bool  # the reader is the pair's "b" side (the larger user id)


async def live_matches(
    conn: asyncpg.Connection, scope_id: int, user_id: int, limit: int, *, readable: bool = True
) -> list[dict[str, Any]]:
    """The member's stored matches in the live run of a scope, still valid right now.

    Each row has ``other_id``, ``score``, ``display_name``, ``stored`` (:class:`StoredReasons`)
    and ``reasons`` in the full shape of :func:`~soundsync_core.taste.reasons.pair_reasons`
    (see :func:`readable_reasons`) — None when ``readable`` is false: a reader who shows one
    match at a time makes each readable when it is shown (:func:`read_stored`).

    Rows are dropped when the other member may no longer be listed to the member
    (:func:`~soundsync_core.repositories.visibility.listed_to`): hidden since, left the guild,
    or one of them asked never to see the other ("already friends" / "not interested").
    """
    rows = await conn.fetch(_LIVE_MATCHES, scope_id, user_id, limit)
    return await _with_reasons(conn, user_id, rows, readable)


@dataclass(frozen=True)
class CheckedMatches:
    """What :func:`checked_live_matches` read."""

    eligibility: asyncpg.Record | None  # the columns of members.MATCH_ELIGIBILITY; None: unknown
    matches: list[dict[str, Any]]  # as :func:`live_matches`; none unless in the live run


async def checked_live_matches(
    conn: asyncpg.Connection, user_id: int, guild_id: int | None, scope_id: int, limit: int, *,
    readable: bool = True,
) -> CheckedMatches:
    """Whether the member may get matches in the scope, and their stored matches when they are in
    its live run (as :func:`live_matches`), in one round trip: the read behind every ``/matches``."""
    rows = await conn.fetch(_CHECKED_LIVE_MATCHES, user_id, guild_id, scope_id, limit)
    if not rows:
        return CheckedMatches(None, [])
    found = [r for r in rows if r["other_id"] is not None]
    return CheckedMatches(rows[0], await _with_reasons(conn, user_id, found, readable))


async def _with_reasons(
    conn: asyncpg.Connection, user_id: int, rows: Sequence[asyncpg.Record], readable: bool
) -> list[dict[str, Any]]:
    stored = [StoredReasons(r["run_id"], r["why"], r["reasons"], user_id > r["other_id"]) for r in rows]
    reasons = await read_stored(conn, stored) if readable else [None] * len(rows)
    return [
        {"other_id": r["other_id"], "score": r["score"], "display_name": r["display_name"],
         "reasons": why, "stored": kept}
        for r, why, kept in zip(rows, reasons, stored, strict=True)
    ]


async def read_stored(conn: asyncpg.Connection, stored: Sequence[StoredReasons]) -> list[Any]:
    """:func:`readable_reasons` of reasons read by :func:`live_matches` (all of one run)."""
    if not stored:
        return []
    return await readable_reasons(
        conn, stored[0].run_id, [{"why": s.why, "reasons": s.reasons} for s in stored],
        [s.reader_is_b for s in stored],
    )


async def live_pair(
    conn: asyncpg.Connection, scope_id: int, user_id: int, other_id: int
) -> asyncpg.Record | None:
    """The stored match of ``user_id`` with ``other_id`` in the scope's live run (``run_id``,
    ``score``, ``reasons``, ``why``; see :func:`readable_reasons`), None when it has none."""
    return await conn.fetchrow(
        """SELECT l.run_id, m.score, m.reasons, m.why FROM live_runs l
           JOIN matches m ON m.run_id = l.run_id AND m.scope_id = l.scope_id
           WHERE l.scope_id = $1 AND m.user_id = $2 AND m.other_id = $3""",
        scope_id, user_id, other_id,
    )


async def readable_reasons(
    conn: asyncpg.Connection, run_id: int, stored: Sequence[Mapping[str, Any]],
    reader_is_b: Sequence[bool],
) -> list[Any]:
    """Stored reasons (``why`` and ``reasons`` of match rows of one run) in the shape readers use.

    A recluster stores packed records (``why``) computed once per pair, with the member of the
    smaller user id as "a": ``reader_is_b`` says, per row, that the reader is the other one. Their
    items are column numbers of the run: :func:`_run_items` names them, in one query for the page.
    Runs older than the packed form stored JSON (``reasons``): compact JSON gets its names from
    the catalogue; the full shape passes unchanged.
    """
    records = iter(unpack([r["why"] for r in stored if r["why"] is not None]))
    packed = [next(records) if r["why"] is not None else None for r in stored]
    wanted = sorted({c for record in packed if record is not None for c in packed_columns(record)})
    items = await _run_items(conn, run_id, wanted) if wanted else {}
    texts = [json.loads(r["reasons"]) if r["why"] is None else None for r in stored]
    names = await _catalogue_names(conn, [t for t in texts if is_compact(t)])
    out = []
    for record, text, b in zip(packed, texts, reader_is_b, strict=True):
        if record is not None:
            out.append(expand_packed(record, items, AUDIO_FEATURES, reader_is_b=b))
        else:
            out.append(expand_reasons(text, names, AUDIO_FEATURES) if is_compact(text) else text)
    return out


async def _run_items(
    conn: asyncpg.Connection, run_id: int, wanted: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], tuple[str, str]]:
    """``(view, column)`` → (item id, display name) for the columns a page of reasons names."""
    rows = await conn.fetch(
        # Each item is looked up in its own catalogue only: left joins of both looked up every
        # item in both and filtered after (0.8 → 0.6 ms a page of 30 items at 100k members).
        """SELECT i.view, i.col, i.item_id,
                  coalesce(CASE i.view
                               WHEN 0 THEN (SELECT a.name FROM artists a WHERE a.artist_id = i.item_id)
                               WHEN 1 THEN (SELECT t.name FROM tracks t WHERE t.track_id = i.item_id)
                           END, i.item_id) AS name
           FROM unnest($2::smallint[], $3::int[]) AS w(view, col)
           JOIN run_items i ON i.run_id = $1 AND i.view = w.view AND i.col = w.col""",
        run_id, [v for v, _ in wanted], [c for _, c in wanted],
    )
    return {(r["view"], r["col"]): (r["item_id"], r["name"]) for r in rows}


async def _catalogue_names(
    conn: asyncpg.Connection, compact: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {"artists": {}, "tracks": {}}
    if not compact:
        return names
    rows = await conn.fetch(
        """SELECT 'artists' AS view, artist_id AS id, name FROM artists
           WHERE artist_id = ANY($1::text[])
           UNION ALL
           SELECT 'tracks', track_id, name FROM tracks WHERE track_id = ANY($2::text[])""",
        sorted({i for r in compact for i in item_ids(r, "a")}),
        sorted({i for r in compact for i in item_ids(r, "t")}),
    )
    for row in rows:
        names[row["view"]][row["id"]] = row["name"]
    return names
