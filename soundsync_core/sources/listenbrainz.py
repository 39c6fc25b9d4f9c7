"""ListenBrainz listening source: a member's top artists and recordings with listen counts.

The statistics API (``/1/stats/user/{name}/artists|recordings``) offers fixed ranges, and none
is "the last twelve months": ``year`` is the previous *calendar* year, ``this_year`` the
current one so far, ``half_yearly``/``quarter``/``month``/``week`` the previous completed
half-year, quarter, month and week. SoundSync reads ``year`` and ``this_year`` and adds their
listen counts (the two never overlap), which always covers at least the last twelve months
and at most two years — ``window`` says "since January <last year>". A light user with fewer
than :data:`LIGHT_USER_ARTISTS` artists there is read over ``all_time`` instead.
ListenBrainz computes statistics about daily; until it has, every range answers 204 and the
fetch raises :class:`ListenBrainzNotReady` (the next refresh tries again).

Statistics are public, so nothing is stored but the username (``external_id``): the user
token proves ownership once, at link time (:meth:`ListenBrainzClient.verify_user`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from soundsync_core.profiles.identity import canonical_artist_id, canonical_track_id
from soundsync_core.sources.base import LinkedAccount, Listening
from soundsync_core.sources.listenbrainz_client import ListenBrainzClient, StatsPage
from soundsync_core.sources.listenbrainz_errors import ListenBrainzError, ListenBrainzNotReady
from soundsync_core.taste.profile import RankedArtist, RankedTrack

RECENT_RANGES = ("year", "this_year")
FALLBACK_RANGE = "all_time"
TOP_COUNT = 200
LIGHT_USER_ARTISTS = 10


@dataclass
class ListenBrainzSource:
    """The :class:`ListeningSource` for ListenBrainz (``external_id`` = the username)."""

    client: ListenBrainzClient
    name: str = "listenbrainz"
    label: str = "ListenBrainz"
    refresh_every: timedelta | None = timedelta(days=7)
    needs_credentials: bool = False

    async def fetch(self, account: LinkedAccount) -> Listening:
        """The member's ListenBrainz listening now; raises :class:`SourceError` subclasses only."""
        user = account.external_id
        if not user:
            raise ListenBrainzError("/stats", 0, "no ListenBrainz username stored")
        ranges, artist_pages = await self._artist_pages(user)
        track_pages = await self._pages(user, "recordings", ranges)
        return Listening(
            account_id=artist_pages[0].user_id,
            display_name=artist_pages[0].user_id,
            artists=rank_artists(artist_pages),
            tracks=rank_tracks(track_pages),
            window=window_of(artist_pages),
        )

    async def _artist_pages(self, user: str) -> tuple[tuple[str, ...], list[StatsPage]]:
        recent = await self._pages(user, "artists", RECENT_RANGES)
        if len(rank_artists(recent)) >= LIGHT_USER_ARTISTS:
            return RECENT_RANGES, recent
        overall = await self._pages(user, "artists", (FALLBACK_RANGE,))
        if overall and len(overall[0].items) > len(rank_artists(recent)):
            return (FALLBACK_RANGE,), overall
        if not recent:
            raise ListenBrainzNotReady(f"/stats/user/{user}/artists", 204, "no range computed yet")
        return RECENT_RANGES, recent

    async def _pages(self, user: str, entity: str, ranges: Iterable[str]) -> list[StatsPage]:
        """The computed ranges' pages (a range still answering 204 is left out)."""
        pages = []
        for stats_range in ranges:
            try:
                pages.append(await self.client.user_stats(user, entity, stats_range, TOP_COUNT))
            except ListenBrainzNotReady:
                continue
        return pages


def window_of(pages: Sequence[StatsPage]) -> str:
    """What the pages cover, in words, for ``/profile``."""
    if any(p.range == FALLBACK_RANGE for p in pages):
        return "all time"
    starts = [p.from_ts for p in pages if p.from_ts is not None]
    if not starts:
        return "this year and last year"
    return f"since {datetime.fromtimestamp(min(starts), UTC):%B %Y}"


def _artist_mbid(item: dict[str, Any]) -> str | None:
    """``artist_mbid`` in today's answers; ``artist_mbids`` (a list) in older ones."""
    if item.get("artist_mbid"):
        return str(item["artist_mbid"])
    mbids = item.get("artist_mbids")
    return str(mbids[0]) if isinstance(mbids, list) and len(mbids) == 1 else None


def _count(item: dict[str, Any]) -> int:
    value = item.get("listen_count")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def rank_artists(pages: Sequence[StatsPage]) -> tuple[RankedArtist, ...]:
    """One ranked artist list from several ranges: listen counts add up per canonical id."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for page in pages:
        for item in page.items:
            name = str(item.get("artist_name") or "").strip()
            if not name:
                continue
            artist_id = canonical_artist_id(_artist_mbid(item), None, name)
            counts[artist_id] = counts.get(artist_id, 0) + _count(item)
            names.setdefault(artist_id, name)
    ordered = sorted(counts, key=lambda a: -counts[a])  # stable: ties keep the first seen
    return tuple(
        RankedArtist(a, rank, names[a], counts[a]) for rank, a in enumerate(ordered, start=1)
    )


def _track_artists(item: dict[str, Any]) -> tuple[str, ...]:
    """The recording's artists: each credited artist, else the whole credit as one name."""
    credits = item.get("artists")
    if isinstance(credits, list) and credits:
        return tuple(dict.fromkeys(
            canonical_artist_id(c.get("artist_mbid"), None, c.get("artist_credit_name"))
            for c in credits if isinstance(c, dict) and (c.get("artist_mbid") or c.get("artist_credit_name"))
        ))
    return (canonical_artist_id(_artist_mbid(item), None, str(item.get("artist_name") or "")),)


def rank_tracks(pages: Sequence[StatsPage]) -> tuple[RankedTrack, ...]:
    """One ranked recording list from several ranges, listen counts added per canonical id."""
    counts: dict[str, int] = {}
    first: dict[str, tuple[str, tuple[str, ...]]] = {}
    for page in pages:
        for item in page.items:
            title = str(item.get("track_name") or "").strip()
            artist = str(item.get("artist_name") or "").strip()
            if not title or not artist:
                continue
            track_id = canonical_track_id(item.get("recording_mbid"), None, artist, title)
            counts[track_id] = counts.get(track_id, 0) + _count(item)
            if track_id not in first:
                first[track_id] = (title, _track_artists(item))
    ordered = sorted(counts, key=lambda t: -counts[t])
    return tuple(
        RankedTrack(t, rank, first[t][0], first[t][1], counts[t])
        for rank, t in enumerate(ordered, start=1)
    )
