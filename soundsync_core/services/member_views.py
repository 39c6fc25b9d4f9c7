"""Read-only views of members: a profile, two profiles compared, a guild's taste map.

Visibility is enforced here, not in the bot: a hidden member's profile is only ever shown to
themselves; a ``server`` member's only to people asking from a guild they share.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from soundsync_core.repositories import accounts, match_store, members, runs, tribes
from soundsync_core.repositories.accounts import SourceFeed
from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.services import live_scoring
from soundsync_core.services.members import MemberError
from soundsync_core.taste.bridge import BridgeItem, profile_bridge
from soundsync_core.taste.profile import TasteProfile

CHART_FEATURES = ("acousticness", "instrumentalness", "danceability", "energy", "loudness")
TOP_ARTISTS = 10
TOP_TRACKS = 5
TOP_GENRES = 8


class ProfileUnavailableError(MemberError):
    """The profile does not exist, or its owner does not let this viewer see it."""


@dataclass(frozen=True)
class ProfileView:
    """Everything ``/profile`` shows about one member."""

    user_id: int
    display_name: str
    top_artists: list[str]
    top_tracks: list[str]
    genre_mix: list[tuple[str, float]]  # (genre, share 0…1), biggest first
    audio: dict[str, float] | None  # mean natural-unit features of the member's top tracks
    sources: list[str]
    tribe: str | None
    tribe_estimated: bool = False  # linked after the last recluster: nearest tribe so far
    artist_ids: list[str] = field(default_factory=list)
    track_ids: list[str] = field(default_factory=list)
    # Which sources feed the profile, when each was last read and which window it covers.
    feeds: list[SourceFeed] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """Two profiles side by side with what they share and their compatibility."""

    left: ProfileView
    right: ProfileView
    score: float  # as the viewer reads it, 0…1 (see taste.percent)
    reasons: dict[str, Any]
    bridge: list[BridgeItem] = field(default_factory=list)  # the other's favourites to try


@dataclass(frozen=True)
class TasteMap:
    """Points of a guild's taste map (hidden members left out) and the tribe names."""

    points: list[tuple[float, float, int]]
    tribe_names: dict[int, str]


async def _check_visible(
    conn: asyncpg.Connection, viewer_id: int, target_id: int, guild_id: int | None
) -> None:
    if viewer_id == target_id:
        return
    if not await members.profile_visible(conn, target_id, guild_id):
        raise ProfileUnavailableError("That member's taste profile is not visible to you.")


def _genre_mix(profile: TasteProfile) -> list[tuple[str, float]]:
    # Rank-weighted: a genre of the favourite artist counts more than one of the 50th.
    weights: Counter[str] = Counter()
    for artist in profile.artists:
        for genre in artist.genres:
            weights[genre] += 1.0 / artist.rank
    total = sum(weights.values()) or 1.0
    return [(g, w / total) for g, w in weights.most_common(TOP_GENRES)]


def _audio_mean(profile: TasteProfile) -> dict[str, float] | None:
    sums: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for track in profile.tracks:
        for feature in CHART_FEATURES:
            value = (track.audio_features or {}).get(feature)
            if value is not None:
                sums[feature] += value
                counts[feature] += 1
    if not counts:
        return None
    return {f: sums[f] / counts[f] for f in CHART_FEATURES if counts[f]}


async def _tribe_of(
    conn: asyncpg.Connection, profile: TasteProfile, scope: int
) -> tuple[str | None, bool]:
    run_id = await runs.live_run_id(conn, scope)
    if run_id is None:
        return None, False
    name = await tribes.tribe_name_of(conn, run_id, profile.user_id)
    if name is not None:
        return name, False
    estimate = await live_scoring.nearest_tribe_name(conn, profile, run_id)
    return estimate, estimate is not None


def _view(profile: TasteProfile, tribe: str | None, estimated: bool) -> ProfileView:
    return ProfileView(
        user_id=profile.user_id,
        display_name=profile.display_name or str(profile.user_id),
        top_artists=[a.name or a.id for a in profile.artists[:TOP_ARTISTS]],
        top_tracks=[t.name or t.id for t in profile.tracks[:TOP_TRACKS]],
        genre_mix=_genre_mix(profile),
        audio=_audio_mean(profile),
        sources=list(profile.sources),
        tribe=tribe,
        tribe_estimated=estimated,
        artist_ids=[a.id for a in profile.artists],
        track_ids=[t.id for t in profile.tracks],
    )


async def _load_one(conn: asyncpg.Connection, user_id: int, scope: int) -> tuple[TasteProfile, ProfileView]:
    found = await load_profiles(conn, [user_id])
    if not found:
        raise ProfileUnavailableError("That member has no taste profile yet (they can /link one).")
    tribe, estimated = await _tribe_of(conn, found[0], scope)
    return found[0], _view(found[0], tribe, estimated)


async def profile_view(
    pool: asyncpg.Pool, viewer_id: int, target_id: int, guild_id: int | None
) -> ProfileView:
    """The target's profile as the viewer may see it (asked from ``guild_id``, None in DMs)."""
    async with pool.acquire() as conn:
        await _check_visible(conn, viewer_id, target_id, guild_id)
        _, view = await _load_one(conn, target_id, guild_id or runs.GLOBAL_SCOPE)
        feeds = await accounts.feeds_of(conn, target_id)
    return dataclasses.replace(view, feeds=feeds)


async def _stored_match(
    conn: asyncpg.Connection, scope: int, left: int, right: int
) -> tuple[float, dict[str, Any]] | None:
    row = await match_store.live_pair(conn, scope, left, right)
    if row is None:
        return None
    return row["score"], (await match_store.readable_reasons(conn, row["run_id"], [row], [left > right]))[0]


async def compare(
    pool: asyncpg.Pool, viewer_id: int, other_id: int, guild_id: int | None
) -> Comparison:
    """The viewer and another member side by side (the other must be visible to the viewer)."""
    if viewer_id == other_id:
        raise MemberError("Pick someone else to compare with.")
    scope = guild_id or runs.GLOBAL_SCOPE
    async with pool.acquire() as conn:
        await _check_visible(conn, viewer_id, other_id, guild_id)
        try:
            mine, left = await _load_one(conn, viewer_id, scope)
        except ProfileUnavailableError:
            raise MemberError("You have no taste profile yet — use /link first.") from None
        theirs, right = await _load_one(conn, other_id, scope)
        stored = await _stored_match(conn, scope, viewer_id, other_id)
    if stored is None:
        scored = await live_scoring.score_live(mine, [theirs], 1)
        stored = (scored[0].percent, scored[0].reasons)
    return Comparison(left, right, float(stored[0]), stored[1], profile_bridge(mine, theirs))


async def taste_map(pool: asyncpg.Pool, guild_id: int) -> TasteMap:
    """The guild's members on the live run's 2-D map, coloured by tribe (hidden members left out)."""
    async with pool.acquire() as conn:
        run_id = await runs.live_run_id(conn, guild_id)
        if run_id is None:
            return TasteMap([], {})
        points = await tribes.map_points(conn, run_id, guild_id)
        names = await tribes.tribe_names(conn, run_id)
    return TasteMap(points, names)
