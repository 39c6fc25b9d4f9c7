"""record_presence: what command use records, and that a repeat visit writes nothing."""

from __future__ import annotations

import asyncpg

from soundsync_core.services.members import record_presence

GUILD = 70
LINKED = 1001
STRANGER = 1002


async def _link(pool: asyncpg.Pool, user_id: int) -> None:
    await pool.execute("INSERT INTO members (user_id, display_name) VALUES ($1, 'linked')", user_id)


async def test_first_use_records_the_guild_and_a_linked_members_membership(pool: asyncpg.Pool) -> None:
    await _link(pool, LINKED)
    assert await record_presence(pool, GUILD, "Listening Club", LINKED) is True
    assert await pool.fetchval("SELECT name FROM guilds WHERE guild_id = $1", GUILD) == "Listening Club"
    assert await pool.fetchval(
        "SELECT count(*) FROM guild_members WHERE guild_id = $1 AND user_id = $2", GUILD, LINKED
    ) == 1


async def test_an_unlinked_user_leaves_no_row_of_their_own(pool: asyncpg.Pool) -> None:
    assert await record_presence(pool, GUILD, "Listening Club", STRANGER) is False
    assert await pool.fetchval("SELECT count(*) FROM guild_members") == 0
    assert await pool.fetchval("SELECT count(*) FROM members") == 0


async def test_a_linked_member_seen_in_a_known_guild_for_the_first_time_is_recorded(
    pool: asyncpg.Pool,
) -> None:
    await record_presence(pool, GUILD, "Listening Club", STRANGER)
    await _link(pool, LINKED)
    await record_presence(pool, GUILD, "Listening Club", LINKED)
    assert await pool.fetchval("SELECT user_id FROM guild_members WHERE guild_id = $1", GUILD) == LINKED


async def test_a_renamed_guild_gets_its_new_name_and_no_name_keeps_the_old(pool: asyncpg.Pool) -> None:
    await record_presence(pool, GUILD, "Listening Club", STRANGER)
    await record_presence(pool, GUILD, "Night Owls", STRANGER)
    await record_presence(pool, GUILD, None, STRANGER)
    assert await pool.fetchval("SELECT name FROM guilds WHERE guild_id = $1", GUILD) == "Night Owls"


async def test_a_repeat_visit_writes_nothing(pool: asyncpg.Pool) -> None:
    await _link(pool, LINKED)
    await record_presence(pool, GUILD, "Listening Club", LINKED)
    # xmin changes whenever a row is rewritten (an upsert's DO UPDATE included).
    before = await pool.fetchval("SELECT xmin::text FROM guilds WHERE guild_id = $1", GUILD)
    await record_presence(pool, GUILD, "Listening Club", LINKED)
    await record_presence(pool, GUILD, None, LINKED)
    assert await pool.fetchval("SELECT xmin::text FROM guilds WHERE guild_id = $1", GUILD) == before
