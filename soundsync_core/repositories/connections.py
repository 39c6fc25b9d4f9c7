"""Say-hi requests between members and the matches they asked never to see again
(``connection_requests``, ``match_exclusions``)."""

from __future__ import annotations

import asyncpg

Executor = asyncpg.Pool | asyncpg.Connection


async def request_for_update(conn: asyncpg.Connection, from_user: int, to_user: int) -> asyncpg.Record | None:
    """The pair's request, row-locked until the transaction ends (None when there is none)."""
    return await conn.fetchrow(
        "SELECT * FROM connection_requests WHERE from_user = $1 AND to_user = $2 FOR UPDATE",
        from_user, to_user,
    )


async def upsert_pending_request(
    conn: Executor,
    from_user: int,
    to_user: int,
    guild_id: int | None,
    score: float | None,
    from_handle: str,
) -> asyncpg.Record | None:
    """(Re)open the pair's request as pending; None when ``to_user`` is not a member."""
    return await conn.fetchrow(
        """INSERT INTO connection_requests (from_user, to_user, guild_id, score, from_handle)
           SELECT $1, $2, $3, $4, $5
           WHERE EXISTS (SELECT 1 FROM members WHERE user_id = $2)
           ON CONFLICT (from_user, to_user) DO UPDATE
           SET status = 'pending', score = EXCLUDED.score, created_at = now(),
               answered_at = NULL, from_handle = EXCLUDED.from_handle, to_handle = NULL
           RETURNING *""",
        from_user, to_user, guild_id, score, from_handle,
    )


async def delete_pending_request(conn: Executor, from_user: int, to_user: int) -> None:
    """Forget the pair's request if it is still pending."""
    await conn.execute(
        "DELETE FROM connection_requests WHERE from_user = $1 AND to_user = $2 AND status = 'pending'",
        from_user, to_user,
    )


async def answer_pending_request(
    conn: Executor, from_user: int, to_user: int, status: str, to_handle: str
) -> asyncpg.Record | None:
    """Set a pending request's status (``to_handle`` kept only when accepted); None when it
    was not pending."""
    return await conn.fetchrow(
        """UPDATE connection_requests
           SET status = $3, answered_at = now(), to_handle = CASE WHEN $3 = 'accepted' THEN $4 END
           WHERE from_user = $1 AND to_user = $2 AND status = 'pending'
           RETURNING *""",
        from_user, to_user, status, to_handle,
    )


async def upsert_exclusion(conn: Executor, user_id: int, other_id: int, reason: str) -> bool:
    """Record that ``user_id`` never wants to see ``other_id`` again; False when either is not
    a member."""
    result = await conn.execute(
        """INSERT INTO match_exclusions (user_id, other_id, reason)
           SELECT $1, $2, $3
           WHERE EXISTS (SELECT 1 FROM members WHERE user_id = $1)
             AND EXISTS (SELECT 1 FROM members WHERE user_id = $2)
           ON CONFLICT (user_id, other_id) DO UPDATE SET reason = EXCLUDED.reason""",
        user_id, other_id, reason,
    )
    return result != "INSERT 0 0"
