"""Reading matches: the live run's rows, or live scoring for members who joined after it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from soundsync_core.errors import MemberFacingError
from soundsync_core.repositories import match_store, members, runs
from soundsync_core.repositories.bridge_inputs import bridge_inputs
from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.services import live_scoring
from soundsync_core.taste.bridge import BridgeItem, bridge

# Above this many candidates a late joiner is scored only against the members of the stored
# tribes nearest to them (then exactly), not against the whole guild.
LIVE_CANDIDATE_LIMIT = 3000


class MatchLookupError(MemberFacingError):
    """The member cannot get matches in that scope; the message says why, plainly."""


@dataclass(frozen=True)
class Match:
    user_id: int
    display_name: str
    score: float  # compatibility as the reader reads it, 0…1 (see taste.percent)
    reasons: dict[str, Any] | None  # None until :func:`with_details` (``matches_for(details=False)``)
    bridge: list[BridgeItem] = field(default_factory=list)  # their favourites the reader lacks
    stored: match_store.StoredReasons | None = None  # the stored form of ``reasons``


@dataclass
class MatchList:
    scope_id: int
    run_id: int | None
    scored_live: bool
    matches: list[Match] = field(default_factory=list)


async def matches_for(
    pool: asyncpg.Pool, user_id: int, guild_id: int | None, limit: int = 10, *,
    details: bool = True,
) -> MatchList:
    """The member's best matches in a guild (or globally when ``guild_id`` is None).

    ``details=False`` leaves stored matches' reasons to :func:`with_details`, for a reader
    who shows one match at a time.
    """
    scope = guild_id if guild_id is not None else runs.GLOBAL_SCOPE
    async with pool.acquire() as conn:
        found = await match_store.checked_live_matches(conn, user_id, guild_id, scope, limit,
                                                       readable=details)
        run_id, in_run = _check_member(found.eligibility, user_id, guild_id)
        if run_id is not None and in_run:
            return MatchList(scope, run_id, False, [
                Match(r["other_id"], r["display_name"] or str(r["other_id"]), r["score"],
                      r["reasons"], stored=r["stored"]) for r in found.matches
            ])
        return await _score_live(conn, user_id, scope, run_id, limit)


async def with_details(pool: asyncpg.Pool, reader_id: int, match: Match) -> Match:
    """``match`` with its reasons and its bridge, from the reader's side (when its page is shown).

    A list of matches costs nothing until a page of it is looked at (``soundsync bench
    matches``): loading every listed match's profile up front multiplied the bot's CPU per
    ``/matches`` about sixfold; building the two members' whole profiles for the bridge took it
    from 1.3 to 3.5 ms, where one query of what the bridge needs costs about 0.7 ms; and making
    all ten matches' reasons readable for the one shown was a third of what was left.
    """
    if match.reasons is not None and match.bridge:
        return match
    async with pool.acquire() as conn:
        reasons = match.reasons
        if reasons is None and match.stored is not None:
            [reasons] = await match_store.read_stored(conn, [match.stored])
        inputs = None if match.bridge else await bridge_inputs(conn, reader_id, match.user_id)
    found = bridge(*inputs) if inputs is not None else match.bridge
    return dataclasses.replace(match, reasons=reasons, bridge=found)


def _check_member(
    row: asyncpg.Record | None, user_id: int, guild_id: int | None
) -> tuple[int | None, bool]:
    """Refuse members who cannot get matches here (``row``: their eligibility); else the scope's
    live run and whether they are in it."""
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


async def _score_live(
    conn: asyncpg.Connection, user_id: int, scope: int, run_id: int | None, limit: int
) -> MatchList:
    candidates = await members.match_candidates(conn, user_id, scope)
    if len(candidates) > LIVE_CANDIDATE_LIMIT and run_id is not None:
        candidates = await live_scoring.nearest_tribe_members(
            conn, user_id, run_id, candidates, LIVE_CANDIDATE_LIMIT
        )
    profiles = await load_profiles(conn, [user_id, *candidates])
    names = {p.user_id: p.display_name for p in profiles}
    me = next(p for p in profiles if p.user_id == user_id)
    others = [p for p in profiles if p.user_id != user_id]
    scored = await live_scoring.score_live(me, others, limit)
    return MatchList(scope, run_id, True, [
        Match(m.user_id, names.get(m.user_id) or str(m.user_id), m.percent, m.reasons)
        for m in scored
    ])
