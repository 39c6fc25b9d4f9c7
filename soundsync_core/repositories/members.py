"""Members, their settings, the guilds the bot is in and who is in which (``members``,
``guilds``, ``guild_members``)."""

from __future__ import annotations

import asyncpg

from soundsync_core.repositories.visibility import listed_to, shown_in_scope

Executor = asyncpg.Pool | asyncpg.Connection


async def record_guild(conn: Executor, guild_id: int, name: str | None) -> None:
    """Upsert a guild the bot is in (keeps its digest channel when already known)."""
    await conn.execute(
        """INSERT INTO guilds (guild_id, name) VALUES ($1, $2)
           ON CONFLICT (guild_id) DO UPDATE SET name = COALESCE(EXCLUDED.name, guilds.name)""",
        guild_id, name,
    )


async def presence(
    conn: Executor, guild_id: int, guild_name: str | None, user_id: int
) -> asyncpg.Record:
    """``guild_known`` (with this name), ``linked`` (a member), ``member_known`` (in the guild)."""
    return await conn.fetchrow(
        """SELECT EXISTS (SELECT 1 FROM guilds WHERE guild_id = $1
                          AND ($2::text IS NULL OR name = $2)) AS guild_known,
                  EXISTS (SELECT 1 FROM members WHERE user_id = $3) AS linked,
                  EXISTS (SELECT 1 FROM guild_members
                          WHERE guild_id = $1 AND user_id = $3) AS member_known""",
        guild_id, guild_name, user_id,
    )


async def add_to_guild(conn: Executor, guild_id: int, user_id: int) -> None:
    """Record the member in the guild (nothing when they are not a member)."""
    await conn.execute(
        """INSERT INTO guild_members (guild_id, user_id)
           SELECT $1, user_id FROM members WHERE user_id = $2
           ON CONFLICT DO NOTHING""",
        guild_id, user_id,
    )


async def remove_from_guild(conn: Executor, guild_id: int, user_id: int) -> None:
    """Forget that the member is in the guild."""
    await conn.execute(
        "DELETE FROM guild_members WHERE guild_id = $1 AND user_id = $2", guild_id, user_id
    )


async def settings_of(conn: Executor, user_id: int) -> asyncpg.Record | None:
    """``weekly_dm`` and ``visibility`` of the member (None when unknown)."""
    return await conn.fetchrow("SELECT weekly_dm, visibility FROM members WHERE user_id = $1", user_id)


async def update_settings(
    conn: Executor, user_id: int, weekly_dm: bool | None, visibility: str | None
) -> asyncpg.Record | None:
    """Change the given settings (None = keep); the new ``weekly_dm`` and ``visibility``."""
    return await conn.fetchrow(
        """UPDATE members SET weekly_dm = COALESCE($2, weekly_dm),
                              visibility = COALESCE($3, visibility), updated_at = now()
           WHERE user_id = $1 RETURNING weekly_dm, visibility""",
        user_id, weekly_dm, visibility,
    )


async def set_visibility(conn: Executor, user_ids: list[int], visibility: str) -> None:
    """Give all these members the same visibility (in bulk: the recluster benchmark)."""
    await conn.execute(
        "UPDATE members SET visibility = $2 WHERE user_id = ANY($1::bigint[])", user_ids, visibility
    )


async def delete_member(conn: Executor, user_id: int) -> bool:
    """Delete the member's row (cascading to what they own); False when there was none."""
    return await conn.execute("DELETE FROM members WHERE user_id = $1", user_id) != "DELETE 0"


async def set_digest_channel(
    conn: Executor, guild_id: int, guild_name: str | None, channel_id: int | None
) -> None:
    """Upsert the guild with its digest channel (None = nowhere)."""
    await conn.execute(
        """INSERT INTO guilds (guild_id, name, digest_channel_id) VALUES ($1, $2, $3)
           ON CONFLICT (guild_id) DO UPDATE SET digest_channel_id = EXCLUDED.digest_channel_id,
                                                name = COALESCE(EXCLUDED.name, guilds.name)""",
        guild_id, guild_name, channel_id,
    )


async def linked_by_source(conn: Executor, guild_id: int) -> dict[str, int]:
    """Members of the guild per source they linked or imported."""
    rows = await conn.fetch(
        """SELECT s.source, count(DISTINCT s.user_id) AS n FROM (
               SELECT user_id, source FROM accounts
               UNION SELECT user_id, source FROM profiles) s
           JOIN guild_members g ON g.user_id = s.user_id AND g.guild_id = $1
           GROUP BY s.source ORDER BY s.source""",
        guild_id,
    )
    return {r["source"]: r["n"] for r in rows}


async def guild_size(conn: Executor, guild_id: int) -> int:
    """How many members SoundSync knows in the guild."""
    return await conn.fetchval("SELECT count(*) FROM guild_members WHERE guild_id = $1", guild_id)


async def largest_guild(conn: Executor) -> int | None:
    """The guild with the most known members; None when there is none."""
    return await conn.fetchval(
        "SELECT guild_id FROM guild_members GROUP BY guild_id ORDER BY count(*) DESC LIMIT 1"
    )


_MATCH_CANDIDATES = f"""SELECT m.user_id FROM members m
    WHERE {listed_to("$1", "m", "$2::bigint")}
      AND EXISTS (SELECT 1 FROM profiles p WHERE p.user_id = m.user_id)"""  # noqa: S608


_PROFILE_VISIBLE = f"""SELECT EXISTS (SELECT 1 FROM members m WHERE m.user_id = $1
    AND ({shown_in_scope("m", "$2::bigint")} OR {shown_in_scope("m", "0")}))"""  # noqa: S608


async def profile_visible(conn: Executor, user_id: int, guild_id: int | None) -> bool:
    """Whether another member may see this member's profile when asking from ``guild_id``
    (None: a DM): shown in that guild's scope or in the global one."""
    return await conn.fetchval(_PROFILE_VISIBLE, user_id, guild_id or 0)


async def match_candidates(conn: Executor, user_id: int, scope_id: int) -> list[int]:
    """Members with a profile who may be listed to the member in the scope (guild id or 0)."""
    rows = await conn.fetch(_MATCH_CANDIDATES, user_id, scope_id)
    return [r["user_id"] for r in rows]


# For member $1 (no row: unknown): ``visibility``, ``has_profile``, ``in_guild`` (guild $2), the
# live ``run_id`` of scope $3 and ``in_run``. Read with the member's stored matches in one round
# trip (:func:`match_store.checked_live_matches`): every query queues for a connection under load.
MATCH_ELIGIBILITY = """SELECT m.visibility,
                  EXISTS (SELECT 1 FROM profiles p WHERE p.user_id = m.user_id) AS has_profile,
                  EXISTS (SELECT 1 FROM guild_members g
                          WHERE g.user_id = m.user_id AND g.guild_id = $2) AS in_guild,
                  l.run_id,
                  EXISTS (SELECT 1 FROM user_clusters u
                          WHERE u.run_id = l.run_id AND u.user_id = m.user_id) AS in_run
           FROM members m LEFT JOIN live_runs l ON l.scope_id = $3
           WHERE m.user_id = $1"""
