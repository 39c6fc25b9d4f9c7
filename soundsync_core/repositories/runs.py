"""Cluster runs, tribes, matches and the live-run switch.

A run's rows are written while it is ``running`` and only become visible to readers when
:func:`switch_live` points ``live_runs`` at it, in one transaction. Readers always go through
``live_runs``, so a half-written or crashed run is never seen.

Each run's matches are a partition of ``matches`` of their own (``matches_run_<id>``, migration
0008): COPYed into a bare table, indexed once, attached when the run goes live, dropped with the
run. Matches and ``user_clusters`` have no foreign key to ``members``: whoever deletes a member
deletes their rows there too (:func:`delete_member_rows`).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import numpy as np

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
from soundsync_core.taste.profile import AUDIO_FEATURES

GLOBAL_SCOPE = 0
# Any constant will do, as long as every SoundSync process uses the same one.
RECLUSTER_LOCK_KEY = 0x50554E44_0002
# Taken exclusively while a run goes live and shared while a member is deleted, so a member who
# unlinks during a recluster cannot leave rows in the run that is being switched live.
RUN_SWITCH_LOCK_KEY = 0x50554E44_0003
KEEP_FINISHED_RUNS = 3
MATCH_COLUMNS = ("run_id", "scope_id", "user_id", "rank", "other_id", "score", "why")


def match_partition(run_id: int) -> str:
    """The table holding one run's matches (an integer in a fixed pattern: safe as an identifier)."""
    return f"matches_run_{int(run_id)}"


async def create_match_partition(conn: asyncpg.Connection, run_id: int) -> None:
    """A bare table for the run's matches: no index yet, not attached yet (see :func:`switch_live`)."""
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
MATCH_ROWS_PER_COPY = 250_000


async def try_lock_recluster(conn: asyncpg.Connection) -> bool:
    """Take the cross-process recluster lock on this connection, without waiting."""
    return await conn.fetchval("SELECT pg_try_advisory_lock($1)", RECLUSTER_LOCK_KEY)


async def unlock_recluster(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", RECLUSTER_LOCK_KEY)


async def start_run(conn: asyncpg.Connection, guild_id: int | None, params: dict) -> int:
    """Record a new ``running`` run and return its id."""
    return await conn.fetchval(
        "INSERT INTO cluster_runs (guild_id, params) VALUES ($1, $2) RETURNING run_id",
        guild_id, params,
    )


async def discard_dead_runs(conn: asyncpg.Connection) -> int:
    """Mark runs left ``running`` by a crashed process failed and delete their rows.

    Call only while holding the recluster lock: then no run can really be in progress.
    """
    dead = await conn.fetch("SELECT run_id FROM cluster_runs WHERE status = 'running'")
    ids = [r["run_id"] for r in dead]
    if ids:
        async with conn.transaction():
            await drop_match_partitions(conn, ids)
            for table in ("user_clusters", "cluster_centers", "run_items"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE run_id = ANY($1::bigint[])", ids  # noqa: S608
                )
            await conn.execute(
                """UPDATE cluster_runs SET status = 'failed', finished_at = now(),
                          metrics = metrics || '{"error": "process died mid-run"}'
                   WHERE run_id = ANY($1::bigint[])""",
                ids,
            )
    return len(ids)


async def fail_run(conn: asyncpg.Connection, run_id: int, error: str) -> None:
    """Mark a run failed and drop whatever rows it had written."""
    async with conn.transaction():
        await drop_match_partitions(conn, [run_id])
        for table in ("user_clusters", "cluster_centers", "run_items"):
            await conn.execute(f"DELETE FROM {table} WHERE run_id = $1", run_id)  # noqa: S608
        await conn.execute(
            """UPDATE cluster_runs SET status = 'failed', finished_at = now(),
                      metrics = metrics || jsonb_build_object('error', $2::text)
               WHERE run_id = $1""",
            run_id, error[:500],
        )


async def copy_rows(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> None:
    """Bulk-write one of the run tables with COPY."""
    await conn.copy_records_to_table(table, records=rows, columns=list(columns))


class ReasonsSource(Protocol):
    """Where a run's reasons come from: made chunk by chunk as the rows are written, so that
    computing them overlaps with PostgreSQL ingesting the rows (CPU: call it off the loop)."""

    def __call__(self, start: int, end: int) -> np.ndarray:
        """:data:`~soundsync_core.taste.bulk_reasons.PACKED` records of rows [start, end)."""
        ...

    def items(self) -> Mapping[str, np.ndarray]:
        """View name → the item id of each column the records refer to."""
        ...


@dataclass(frozen=True)
class MatchRows:
    """A run's match rows as columns, and where their reasons come from."""

    scope_id: np.ndarray
    user_id: np.ndarray
    rank: np.ndarray
    other_id: np.ndarray
    score: np.ndarray
    reasons: ReasonsSource

    def __len__(self) -> int:
        return len(self.user_id)


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


def match_copy_chunks(run_id: int, rows: MatchRows) -> Iterator[bytes]:
    """The rows in binary COPY format, :data:`MATCH_ROWS_PER_COPY` per chunk, built with numpy
    alone: every field has a fixed size (CPU: run it off the loop)."""
    for start in range(0, len(rows), MATCH_ROWS_PER_COPY):
        end = min(start + MATCH_ROWS_PER_COPY, len(rows))
        out = np.empty(end - start, dtype=_MATCH_ROW)
        out["fields"] = len(MATCH_COLUMNS)
        for name, size in (("run", 8), ("scope", 8), ("user", 8), ("rank", 2), ("other", 8),
                           ("score", 4), ("why", PACKED.itemsize)):
            out[f"{name}_len"] = size
        out["run_id"] = run_id
        out["scope_id"] = rows.scope_id[start:end]
        out["user_id"] = rows.user_id[start:end]
        out["rank"] = rows.rank[start:end]
        out["other_id"] = rows.other_id[start:end]
        out["score"] = rows.score[start:end]
        out["why"] = np.ascontiguousarray(rows.reasons(start, end)).view(f"V{PACKED.itemsize}")
        yield _COPY_HEADER + out.tobytes() + _COPY_TRAILER


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


async def switch_live(
    conn: asyncpg.Connection,
    run_id: int,
    scopes: Sequence[int],
    k: int,
    metrics: dict,
    member_ids: Sequence[int],
) -> None:
    """Complete the run and make it the one serving ``scopes``, all in one transaction.

    The run's matches are attached first; tribe and match rows of members (``member_ids`` were
    the run's) deleted while it computed are removed — under the lock member deletions share.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RUN_SWITCH_LOCK_KEY)
        await conn.execute(
            f"ALTER TABLE matches ATTACH PARTITION {match_partition(run_id)} FOR VALUES IN ({int(run_id)})"
        )
        await _drop_rows_of_deleted_members(conn, run_id, member_ids)
        await conn.execute(
            """UPDATE cluster_runs SET status = 'complete', finished_at = now(), k = $2,
                      metrics = $3 WHERE run_id = $1""",
            run_id, k, metrics,
        )
        await conn.execute(
            """INSERT INTO live_runs (scope_id, run_id)
               SELECT unnest($2::bigint[]), $1
               ON CONFLICT (scope_id)
               DO UPDATE SET run_id = EXCLUDED.run_id, switched_at = now()""",
            run_id, list(scopes),
        )


async def _drop_rows_of_deleted_members(
    conn: asyncpg.Connection, run_id: int, member_ids: Sequence[int]
) -> None:
    gone = await conn.fetchval(
        """SELECT array_agg(x) FROM unnest($1::bigint[]) x
           WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.user_id = x)""",
        list(member_ids),
    )
    if gone:
        await conn.execute(
            f"DELETE FROM {match_partition(run_id)} "  # noqa: S608 (an integer identifier)
            "WHERE user_id = ANY($1::bigint[]) OR other_id = ANY($1::bigint[])",
            gone,
        )
        await conn.execute(
            "DELETE FROM user_clusters WHERE run_id = $1 AND user_id = ANY($2::bigint[])",
            run_id, gone,
        )


async def prune_old_runs(conn: asyncpg.Connection) -> None:
    """Delete finished runs that serve no scope, keeping the few most recent for inspection."""
    async with conn.transaction():
        old = await conn.fetch(
            """DELETE FROM cluster_runs WHERE run_id IN (
                   SELECT run_id FROM cluster_runs
                   WHERE status <> 'running' AND run_id NOT IN (SELECT run_id FROM live_runs)
                   ORDER BY run_id DESC OFFSET $1)
               RETURNING run_id""",
            KEEP_FINISHED_RUNS,
        )
        await drop_match_partitions(conn, [r["run_id"] for r in old])


async def live_run_id(conn: asyncpg.Connection, scope_id: int) -> int | None:
    """The run serving a guild (or :data:`GLOBAL_SCOPE`), if any."""
    return await conn.fetchval("SELECT run_id FROM live_runs WHERE scope_id = $1", scope_id)


async def run_info(conn: asyncpg.Connection, run_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM cluster_runs WHERE run_id = $1", run_id)
    return dict(row) if row else None


async def live_matches(
    conn: asyncpg.Connection, scope_id: int, user_id: int, limit: int
) -> list[dict[str, Any]]:
    """The member's stored matches in the live run of a scope, still valid right now.

    Each row has ``other_id``, ``score``, ``display_name`` and ``reasons`` in the full shape of
    :func:`~soundsync_core.taste.reasons.pair_reasons` (see :func:`readable_reasons`).

    Rows are dropped when the other member has since hidden themselves, left the guild, or been
    excluded by the member ("already friends" / "not interested").
    """
    rows = await conn.fetch(
        """SELECT l.run_id, m.other_id, m.score, m.reasons, m.why, o.display_name
           FROM live_runs l
           JOIN matches m ON m.run_id = l.run_id AND m.scope_id = l.scope_id
           JOIN members o ON o.user_id = m.other_id
           WHERE l.scope_id = $1 AND m.user_id = $2
             AND o.visibility <> 'hidden'
             AND ($1 = 0 AND o.visibility = 'global'
                  OR $1 <> 0 AND EXISTS (SELECT 1 FROM guild_members g
                                         WHERE g.guild_id = $1 AND g.user_id = m.other_id))
             AND NOT EXISTS (SELECT 1 FROM match_exclusions x
                             WHERE x.user_id = $2 AND x.other_id = m.other_id)
           ORDER BY m.rank
           LIMIT $3""",
        scope_id, user_id, limit,
    )
    if not rows:
        return []
    reasons = await readable_reasons(conn, rows[0]["run_id"], rows, [user_id > r["other_id"] for r in rows])
    return [
        {"other_id": r["other_id"], "score": r["score"], "display_name": r["display_name"],
         "reasons": why}
        for r, why in zip(rows, reasons, strict=True)
    ]


async def readable_reasons(
    conn: asyncpg.Connection, run_id: int, stored: Sequence[asyncpg.Record], reader_is_b: Sequence[bool]
) -> list[Any]:
    """Stored reasons (``why`` and ``reasons`` of match rows of one run) in the shape readers use.

    A recluster stores packed records (``why``) computed once per pair, with the member of the
    smaller user id as "a": ``reader_is_b`` says, per row, that the reader is the other one. Their
    items are column numbers of the run: :func:`_run_items` names them, in one query for the page.
    Runs older than the packed form stored JSON (``reasons``): compact JSON gets its names from
    the catalogue; the full shape passes unchanged.
    """
    packed = [unpack(r["why"]) if r["why"] is not None else None for r in stored]
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
        """SELECT i.view, i.col, i.item_id,
                  coalesce(a.name, t.name, i.item_id) AS name
           FROM unnest($2::smallint[], $3::int[]) AS w(view, col)
           JOIN run_items i ON i.run_id = $1 AND i.view = w.view AND i.col = w.col
           LEFT JOIN artists a ON i.view = 0 AND a.artist_id = i.item_id
           LEFT JOIN tracks t ON i.view = 1 AND t.track_id = i.item_id""",
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


async def tribes_of_run(conn: asyncpg.Connection, run_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT cluster, size, name, top_artists, top_genres, center
           FROM cluster_centers WHERE run_id = $1 ORDER BY size DESC, cluster""",
        run_id,
    )
