"""Reading matches: the live run's rows, or live scoring for members who joined after it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from soundsync_core.errors import MemberFacingError
from soundsync_core.repositories import match_store, runs
from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.services.late_joiner import nearest_tribes, score_late_joiner
from soundsync_core.taste.calibration import Calibration

# Above this many candidates a late joiner is scored only against the members of the stored
# tribes nearest to them (then exactly), not against the whole guild.
LIVE_CANDIDATE_LIMIT = 3000


class MatchLookupError(MemberFacingError):
    """The member cannot get matches in that scope; the message says why, plainly."""


@dataclass(frozen=True)
class Match:
    user_id: int
    display_name: str
    score: float  # calibrated compatibility, 0…1
    reasons: dict[str, Any]


@dataclass
class MatchList:
    scope_id: int
    run_id: int | None
    scored_live: bool
    matches: list[Match] = field(default_factory=list)


async def matches_for(
    pool: asyncpg.Pool, user_id: int, guild_id: int | None, limit: int = 10
) -> MatchList:
    """The member's best matches in a guild (or globally when ``guild_id`` is None)."""
    scope = guild_id if guild_id is not None else runs.GLOBAL_SCOPE
    async with pool.acquire() as conn:
        run_id, in_run = await _check_member(conn, user_id, guild_id, scope)
        if run_id is not None and in_run:
            rows = await match_store.live_matches(conn, scope, user_id, limit)
            return MatchList(scope, run_id, False, [
                Match(r["other_id"], r["display_name"] or str(r["other_id"]), r["score"],
                      r["reasons"]) for r in rows
            ])
        return await _score_live(conn, user_id, scope, run_id, limit)


async def _check_member(
    conn: asyncpg.Connection, user_id: int, guild_id: int | None, scope: int
) -> tuple[int | None, bool]:
    """Refuse members who cannot get matches here; else the scope's live run and whether they
    are in it. One round trip: under load every query queues for a pooled connection.
    """
    row = await conn.fetchrow(
        """SELECT m.visibility,
                  EXISTS (SELECT 1 FROM profiles p WHERE p.user_id = m.user_id) AS has_profile,
                  EXISTS (SELECT 1 FROM guild_members g
                          WHERE g.user_id = m.user_id AND g.guild_id = $2) AS in_guild,
                  l.run_id,
                  EXISTS (SELECT 1 FROM user_clusters u
                          WHERE u.run_id = l.run_id AND u.user_id = m.user_id) AS in_run
           FROM members m LEFT JOIN live_runs l ON l.scope_id = $3
           WHERE m.user_id = $1""",
        user_id, guild_id, scope,
    )
    if row is None or not row["has_profile"]:
        raise MatchLookupError(
            "You have no listening profile yet — link a source with /link first.",
            detail=f"member {user_id} has no listening profile yet — link a source",
        )
    if guild_id is not None and not row["in_guild"]:
        raise MatchLookupError(
            "SoundSync does not know you as a member of this server yet.",
            detail=f"member {user_id} is not in guild {guild_id}",
        )
    if guild_id is None and row["visibility"] != "global":
        raise MatchLookupError(
            "Global matches are only for members whose visibility is 'global' (see /settings).",
            detail=f"member {user_id}: global matches are only for members whose visibility is "
                   "'global' (see /settings)",
        )
    return row["run_id"], row["in_run"]


async def _candidate_ids(
    conn: asyncpg.Connection, user_id: int, scope: int
) -> list[int]:
    rows = await conn.fetch(
        """SELECT m.user_id FROM members m
           WHERE m.user_id <> $1 AND m.visibility <> 'hidden'
             AND EXISTS (SELECT 1 FROM profiles p WHERE p.user_id = m.user_id)
             AND ($2::bigint = 0 AND m.visibility = 'global'
                  OR $2 <> 0 AND EXISTS (SELECT 1 FROM guild_members g
                                         WHERE g.guild_id = $2 AND g.user_id = m.user_id))
             AND NOT EXISTS (SELECT 1 FROM match_exclusions x
                             WHERE x.user_id = $1 AND x.other_id = m.user_id)""",
        user_id, scope,
    )
    return [r["user_id"] for r in rows]


async def _score_live(
    conn: asyncpg.Connection, user_id: int, scope: int, run_id: int | None, limit: int
) -> MatchList:
    candidates = await _candidate_ids(conn, user_id, scope)
    if len(candidates) > LIVE_CANDIDATE_LIMIT and run_id is not None:
        candidates = await _nearest_tribe_members(conn, user_id, run_id, candidates)
    profiles = await load_profiles(conn, [user_id, *candidates])
    names = {p.user_id: p.display_name for p in profiles}
    me = next(p for p in profiles if p.user_id == user_id)
    others = [p for p in profiles if p.user_id != user_id]
    calibration = None
    if run_id is not None:
        info = await runs.run_info(conn, run_id)
        stored = (info or {}).get("metrics", {}).get("calibration")
        calibration = Calibration.from_dict(stored) if stored else None
    scored = await asyncio.get_running_loop().run_in_executor(
        None, lambda: score_late_joiner(me, others, calibration=calibration, k=limit)
    )
    return MatchList(scope, run_id, True, [
        Match(other, names.get(other) or str(other), score, reasons)
        for other, score, reasons in scored
    ])


async def _nearest_tribe_members(
    conn: asyncpg.Connection, user_id: int, run_id: int, candidates: list[int]
) -> list[int]:
    """Candidates in the stored tribes closest to the member's profile, enough to rank well."""
    me = (await load_profiles(conn, [user_id]))[0]
    centres = await conn.fetch(
        "SELECT cluster, artist_weights FROM cluster_centers WHERE run_id = $1", run_id
    )
    order = nearest_tribes(me, {r["cluster"]: r["artist_weights"] for r in centres})
    chosen: list[int] = []
    for cluster in order:
        rows = await conn.fetch(
            """SELECT user_id FROM user_clusters
               WHERE run_id = $1 AND cluster = $2 AND user_id = ANY($3::bigint[])""",
            run_id, cluster, candidates,
        )
        chosen.extend(r["user_id"] for r in rows)
        if len(chosen) >= LIVE_CANDIDATE_LIMIT:
            break
    return chosen
