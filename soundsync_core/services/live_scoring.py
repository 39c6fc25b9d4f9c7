"""Members who linked after the last recluster: the reads around the pure scoring of
:mod:`soundsync_core.taste.late_joiners`, which runs in an executor."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from soundsync_core.repositories import tribes
from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.taste.late_joiners import LiveMatch, nearest_tribes, score_late_joiner
from soundsync_core.taste.profile import TasteProfile


async def score_live(me: TasteProfile, others: Sequence[TasteProfile], k: int) -> list[LiveMatch]:
    """The best ``k`` of ``others`` for ``me``, scored off the event loop (the % as ``me`` reads
    it, the same measure as a run's stored matches: see ``taste.percent``)."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: score_late_joiner(me, others, k=k)
    )


async def nearest_tribe_members(
    conn: asyncpg.Connection, user_id: int, run_id: int, candidates: list[int], enough: int
) -> list[int]:
    """Candidates in the run's tribes closest to the member's profile, tribe by tribe, until
    there are ``enough`` (a large guild is not scored whole)."""
    me = (await load_profiles(conn, [user_id]))[0]
    centres = await tribes.tribe_centres(conn, run_id)
    chosen: list[int] = []
    for cluster in nearest_tribes(me, {r["cluster"]: r["artist_weights"] for r in centres}):
        chosen.extend(await tribes.tribe_members_among(conn, run_id, cluster, candidates))
        if len(chosen) >= enough:
            break
    return chosen


async def nearest_tribe_name(conn: asyncpg.Connection, profile: TasteProfile, run_id: int) -> str | None:
    """The name of the run's tribe closest to the profile (None: the run has no tribes)."""
    centres = await tribes.tribe_centres(conn, run_id)
    if not centres:
        return None
    order = nearest_tribes(profile, {r["cluster"]: r["artist_weights"] for r in centres})
    return next(r["name"] for r in centres if r["cluster"] == order[0])
