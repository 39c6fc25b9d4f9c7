"""Read-only views of a guild's live run: its tribes and every member's matches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from soundsync_core.errors import MemberFacingError
from soundsync_core.repositories import community, match_store, runs, tribes


class NoLiveRunError(MemberFacingError):
    """No recluster has covered that guild yet."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            "This server has had no recluster yet — an admin can start one with /recluster.",
            detail=f"guild {guild_id} has no recluster yet — run `soundsync recluster`",
        )


class NoGuildMembersError(MemberFacingError):
    """The guild has no member with a profile, so no recluster covers it, whether or not one ran."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            "Nobody in this server has linked a listening source yet, so there are no tribes or "
            "matches here.",
            detail=f"guild {guild_id} has no linked members yet, so it has no tribes or matches",
        )


async def _missing_run(conn: asyncpg.Connection, guild_id: int) -> MemberFacingError:
    """Why the guild has no live run: no members to cluster, or no recluster since they came."""
    if await community.guild_has_profiles(conn, guild_id):
        return NoLiveRunError(guild_id)
    return NoGuildMembersError(guild_id)


@dataclass(frozen=True)
class TribeView:
    cluster: int
    name: str
    members_in_guild: int
    size: int
    top_artists: list[str]
    top_genres: list[str]


async def guild_tribes(pool: asyncpg.Pool, guild_id: int) -> list[TribeView]:
    """The live run's tribes with how many of this guild's members belong to each."""
    async with pool.acquire() as conn:
        run_id = await runs.live_run_id(conn, guild_id)
        if run_id is None:
            raise await _missing_run(conn, guild_id)
        rows = await tribes.guild_tribe_sizes(conn, run_id, guild_id)
    return [
        TribeView(r["cluster"], r["name"], r["in_guild"], r["size"], list(r["top_artists"]),
                  list(r["top_genres"]))
        for r in rows if r["in_guild"] > 0
    ]


async def export_guild_matches(
    pool: asyncpg.Pool, guild_id: int, limit: int
) -> AsyncIterator[dict]:
    """``{"user_id", "matches": [{"user_id", "score", "reasons"}]}`` for every member, by id."""
    async with pool.acquire() as conn:
        run_id = await runs.live_run_id(conn, guild_id)
        if run_id is None:
            raise await _missing_run(conn, guild_id)
        for member in await tribes.guild_members_in_run(conn, run_id, guild_id):
            rows = await match_store.live_matches(conn, guild_id, member, limit)
            yield {
                "user_id": str(member),
                "matches": [
                    {"user_id": str(r["other_id"]), "score": round(r["score"], 4),
                     "reasons": r["reasons"]}
                    for r in rows
                ],
            }
