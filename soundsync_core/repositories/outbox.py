"""The digest outboxes: ``dm_outbox`` (one row per member per period) and ``channel_digests``.

A row moves ``pending`` → ``sending`` (claimed, committed *before* anything is sent) → a final
status. Only the process holding :data:`OUTBOX_DRAIN_LOCK_KEY` delivers, so a ``sending`` row
seen by the lock holder was left by a process that died mid-delivery.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from soundsync_core.repositories.visibility import listed_to, shown_in_scope

# Any constant will do, as long as every SoundSync process uses the same one.
OUTBOX_DRAIN_LOCK_KEY = 0x50554E44_0012
WEEKLY_DIGEST = "weekly_digest"


async def try_lock_drain(conn: asyncpg.Connection) -> bool:
    """Become the only outbox sender across every process, without waiting."""
    return await conn.fetchval("SELECT pg_try_advisory_lock($1)", OUTBOX_DRAIN_LOCK_KEY)


async def unlock_drain(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", OUTBOX_DRAIN_LOCK_KEY)


# -- filling --------------------------------------------------------------------------------


async def members_to_digest(conn: asyncpg.Connection, kind: str, period: str) -> list[asyncpg.Record]:
    """(user_id, scope_id, scope_name) for every opted-in member not yet in the outbox.

    Scopes are the member's guilds that have a live run, plus the global scope for members whose
    visibility is ``global``.
    """
    return await conn.fetch(
        """SELECT m.user_id, s.scope_id, s.scope_name
           FROM members m
           CROSS JOIN LATERAL (
               SELECT gm.guild_id AS scope_id, g.name AS scope_name
               FROM guild_members gm
               JOIN live_runs l ON l.scope_id = gm.guild_id
               LEFT JOIN guilds g ON g.guild_id = gm.guild_id
               WHERE gm.user_id = m.user_id
               UNION ALL
               SELECT 0, NULL FROM live_runs l WHERE l.scope_id = 0 AND m.visibility = 'global'
           ) s
           WHERE m.weekly_dm
             AND NOT EXISTS (SELECT 1 FROM dm_outbox o
                             WHERE o.user_id = m.user_id AND o.kind = $1 AND o.period = $2)
           ORDER BY m.user_id, s.scope_id""",
        kind, period,
    )


async def insert_message(
    conn: asyncpg.Connection, user_id: int, kind: str, period: str, payload: dict[str, Any]
) -> bool:
    """Write one outbox row; False when the member already has one for that kind and period."""
    inserted = await conn.fetchval(
        """INSERT INTO dm_outbox (user_id, kind, period, payload) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, kind, period) DO NOTHING RETURNING id""",
        user_id, kind, period, payload,
    )
    return inserted is not None


async def supersede_older(conn: asyncpg.Connection, kind: str, period: str) -> int:
    """Skip rows of earlier periods still waiting: last week's digest is not sent a week late."""
    result = await conn.execute(
        """UPDATE dm_outbox SET status = 'skipped', error = 'superseded by ' || $2
           WHERE kind = $1 AND period < $2 AND status = 'pending'""",
        kind, period,
    )
    return int(result.split()[-1])


async def purge_finished(conn: asyncpg.Connection, keep_days: int) -> int:
    """Delete finished rows older than ``keep_days``: old digests are personal data, not history."""
    result = await conn.execute(
        """DELETE FROM dm_outbox
           WHERE created_at < now() - make_interval(days => $1)
             AND status NOT IN ('pending', 'sending')""",
        keep_days,
    )
    await conn.execute(
        "DELETE FROM channel_digests WHERE created_at < now() - make_interval(days => $1)", keep_days
    )
    return int(result.split()[-1])


async def forget_match(conn: asyncpg.Connection, other_id: int) -> int:
    """Remove a member from every stored digest that names them as a match."""
    result = await conn.execute(
        """UPDATE dm_outbox SET payload = jsonb_set(payload, '{matches}', coalesce(
                  (SELECT jsonb_agg(m) FROM jsonb_array_elements(payload->'matches') m
                   WHERE m->>'user_id' <> $1::text), '[]'::jsonb))
           WHERE payload->'matches' @> jsonb_build_array(jsonb_build_object('user_id', $1::text))""",
        str(other_id),
    )
    return int(result.split()[-1])


# -- delivering direct messages ------------------------------------------------------------


async def requeue_interrupted(conn: asyncpg.Connection) -> int:
    """Put rows a dead sender left in ``sending`` back in the queue (call with the drain lock).

    Their ``attempts`` already counts the interrupted try, which tells the sender to check
    whether the message went out before sending it again.
    """
    dm = await conn.execute("UPDATE dm_outbox SET status = 'pending' WHERE status = 'sending'")
    channel = await conn.execute("UPDATE channel_digests SET status = 'pending' WHERE status = 'sending'")
    return int(dm.split()[-1]) + int(channel.split()[-1])


async def claim_next_message(conn: asyncpg.Connection, kind: str) -> asyncpg.Record | None:
    """Claim the next pending row: ``sending`` (or ``skipped`` when the member opted out).

    Committed on its own, before the send, so a crash leaves a visible trace. Rows that already
    failed go to the back of the queue (``ORDER BY attempts``).
    """
    return await conn.fetchrow(
        """WITH next AS (
               SELECT o.id FROM dm_outbox o
               WHERE o.status = 'pending' AND o.kind = $1
               ORDER BY o.attempts, o.id LIMIT 1 FOR UPDATE SKIP LOCKED)
           UPDATE dm_outbox o
           SET status = CASE WHEN m.weekly_dm THEN 'sending' ELSE 'skipped' END,
               attempts = o.attempts + CASE WHEN m.weekly_dm THEN 1 ELSE 0 END,
               error = CASE WHEN m.weekly_dm THEN o.error ELSE 'opted out before sending' END
           FROM next, members m
           WHERE o.id = next.id AND m.user_id = o.user_id
           RETURNING o.id, o.user_id, o.period, o.payload, o.attempts, o.status""",
        kind,
    )


_STILL_SHOWN = f"""SELECT o.user_id FROM members o
    WHERE o.user_id = ANY($2::bigint[]) AND {listed_to("$1", "o", "$3::bigint")}"""  # noqa: S608


async def still_shown(
    conn: asyncpg.Connection, user_id: int, other_ids: list[int], scope_id: int
) -> set[int]:
    """Which of ``other_ids`` may still be listed to the member in the digest's scope."""
    rows = await conn.fetch(_STILL_SHOWN, user_id, other_ids, scope_id)
    return {r["user_id"] for r in rows}


async def finish_message(
    conn: asyncpg.Connection, row_id: int, status: str, error: str | None = None
) -> None:
    """Record the outcome of one delivery attempt (``pending`` puts it back in the queue)."""
    await conn.execute(
        """UPDATE dm_outbox SET status = $2, error = $3,
                  sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
           WHERE id = $1""",
        row_id, status, error[:500] if error else None,
    )


# -- channel digests -----------------------------------------------------------------------


async def plan_channel_digests(conn: asyncpg.Connection, kind: str) -> int:
    """One channel digest per guild with a digest channel and closed-DM members, latest period.

    Only once every DM of that period is final, since the post is made once and must name
    every member whose DMs turned out to be closed.
    """
    result = await conn.execute(
        """WITH latest AS (SELECT max(period) AS period FROM dm_outbox WHERE kind = $1)
           INSERT INTO channel_digests (guild_id, period, channel_id)
           SELECT DISTINCT g.guild_id, o.period, g.digest_channel_id
           FROM latest
           JOIN dm_outbox o ON o.kind = $1 AND o.period = latest.period AND o.status = 'dm_closed'
           JOIN guild_members gm ON gm.user_id = o.user_id
           JOIN guilds g ON g.guild_id = gm.guild_id AND g.digest_channel_id IS NOT NULL
           WHERE NOT EXISTS (SELECT 1 FROM dm_outbox p
                             WHERE p.kind = $1 AND p.period = latest.period
                               AND p.status IN ('pending', 'sending'))
           ON CONFLICT (guild_id, period) DO NOTHING""",
        kind,
    )
    return int(result.split()[-1])


async def claim_next_channel_digest(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """Claim the next pending channel digest (committed before the post, like DMs)."""
    return await conn.fetchrow(
        """UPDATE channel_digests c SET status = 'sending', attempts = c.attempts + 1
           FROM (SELECT guild_id, period FROM channel_digests WHERE status = 'pending'
                 ORDER BY attempts, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) next
           WHERE c.guild_id = next.guild_id AND c.period = next.period
           RETURNING c.guild_id, c.period, c.channel_id, c.attempts"""
    )


async def closed_dm_digests(
    conn: asyncpg.Connection, kind: str, guild_id: int, period: str
) -> list[asyncpg.Record]:
    """The guild's members whose digest of ``period`` met closed DMs, with their payloads."""
    return await conn.fetch(
        """SELECT o.user_id, o.payload FROM dm_outbox o
           JOIN guild_members gm ON gm.user_id = o.user_id AND gm.guild_id = $2
           JOIN members m ON m.user_id = o.user_id AND m.weekly_dm
           WHERE o.kind = $1 AND o.period = $3 AND o.status = 'dm_closed'
           ORDER BY o.user_id""",
        kind, guild_id, period,
    )


_SHOWN_IN_GUILD = f"""SELECT m.user_id FROM members m
    WHERE m.user_id = ANY($2::bigint[]) AND {shown_in_scope("m", "$1::bigint")}"""  # noqa: S608


async def guild_members_among(conn: asyncpg.Connection, guild_id: int, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` are in the guild and not hidden (may be named in its channel)."""
    rows = await conn.fetch(_SHOWN_IN_GUILD, guild_id, user_ids)
    return {r["user_id"] for r in rows}


async def finish_channel_digest(
    conn: asyncpg.Connection, guild_id: int, period: str, status: str, error: str | None = None
) -> None:
    """Record the outcome of one channel post attempt."""
    await conn.execute(
        """UPDATE channel_digests SET status = $3, error = $4,
                  sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END
           WHERE guild_id = $1 AND period = $2""",
        guild_id, period, status, error[:500] if error else None,
    )
