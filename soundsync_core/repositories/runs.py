"""Cluster runs, tribes and the live-run switch (a run's matches: :mod:`match_store`).

A run's rows are written while it is ``running`` and only become visible to readers when
:func:`switch_live` points ``live_runs`` at it, in one transaction. Readers always go through
``live_runs``, so a half-written or crashed run is never seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from soundsync_core.repositories.match_store import (
    RUN_SWITCH_LOCK_KEY,
    drop_match_partitions,
    match_partition,
)
from soundsync_core.taste.community import GLOBAL_SCOPE as GLOBAL_SCOPE  # for runs' readers

# Any constant will do, as long as every SoundSync process uses the same one.
RECLUSTER_LOCK_KEY = 0x50554E44_0002
KEEP_FINISHED_RUNS = 3


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
