"""Scheduled-job bookkeeping: one process at a time per job (an advisory lock), and when each
job last ran (an ``app_state`` fact)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from soundsync_core.repositories import app_state

_LAST_RUN_KEY = "scheduler.last_run.{}"


async def try_lock_job(conn: asyncpg.Connection, lock_key: int) -> bool:
    """Take the job's cross-process lock on this connection, without waiting."""
    return await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key)


async def unlock_job(conn: asyncpg.Connection, lock_key: int) -> None:
    """Release the job's lock taken by :func:`try_lock_job` on this connection."""
    await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)


async def record_job_run(conn: asyncpg.Connection | asyncpg.Pool, job_id: str, at: datetime) -> None:
    """Remember that the job last ran at ``at``."""
    await app_state.set_fact(conn, _LAST_RUN_KEY.format(job_id), {"at": at.isoformat()})


async def last_job_run(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> datetime | None:
    """When the job last ran (None: never, as far as this database knows)."""
    value = await app_state.get_fact(conn, _LAST_RUN_KEY.format(job_id))
    return datetime.fromisoformat(value["at"]) if value else None
