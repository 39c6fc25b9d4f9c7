"""Everything a recluster needs to know about the community, read in a handful of queries."""

from __future__ import annotations

import asyncpg

from soundsync_core.repositories.profile_table import load_profile_table
from soundsync_core.taste.community import Community


async def load_community(conn: asyncpg.Connection, guild_id: int | None) -> Community:
    """Load all members with a profile, or only those of ``guild_id``."""
    user_ids = None
    if guild_id is not None:
        user_ids = [r["user_id"] for r in await conn.fetch(
            "SELECT user_id FROM guild_members WHERE guild_id = $1", guild_id
        )]
    profiles = await load_profile_table(conn, user_ids, lean=True)
    ids = profiles.user_ids.tolist()
    visibility = {r["user_id"]: r["visibility"] for r in await conn.fetch(
        "SELECT user_id, visibility FROM members WHERE user_id = ANY($1::bigint[])", ids
    )}
    guilds: dict[int, list[int]] = {}
    for row in await conn.fetch(
        """SELECT guild_id, array_agg(user_id ORDER BY user_id) AS members FROM guild_members
           WHERE user_id = ANY($1::bigint[]) AND ($2::bigint IS NULL OR guild_id = $2)
           GROUP BY guild_id""",
        ids, guild_id,
    ):
        guilds[row["guild_id"]] = list(row["members"])
    exclusions = {(r["user_id"], r["other_id"]) for r in await conn.fetch(
        "SELECT user_id, other_id FROM match_exclusions WHERE user_id = ANY($1::bigint[])", ids
    )}
    return Community(profiles, visibility, guilds, exclusions, guild_id)


async def guild_has_profiles(conn: asyncpg.Connection, guild_id: int) -> bool:
    """Whether any member of the guild has a profile (a recluster covers only such guilds)."""
    return await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM guild_members g JOIN profiles p USING (user_id)
                          WHERE g.guild_id = $1)""",
        guild_id,
    )
