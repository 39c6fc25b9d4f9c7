"""Last.fm listening source: a member's top artists and tracks with play counts.

What is read: ``user.getTopArtists`` and ``user.getTopTracks`` over the last 12 months
(``period=12month``, up to :data:`TOP_LIMIT`), or over all time (``overall``) for light users
whose last year holds fewer than :data:`LIGHT_USER_ARTISTS` artists; the member's session key
signs the calls, so a member who hides their listening is still read (as themselves). Genres
are the artists' Last.fm tags (``artist.getTopTags``, see :mod:`artist_tags`), fetched for the
top :data:`TAGGED_ARTISTS` artists only and cached per artist, so a refresh mostly costs two
requests. Ids follow :mod:`soundsync_core.profiles.identity` (``mbid:…`` or ``name:…``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from soundsync_core.profiles.identity import (
    canonical_artist_id,
    canonical_track_id,
    combine_counts,
    mbid_of,
)
from soundsync_core.sources.artist_tags import ArtistTagCache, MemoryTagCache, genres_from_tags
from soundsync_core.sources.base import (
    LinkedAccount,
    Listening,
    SourceNotReady,
    SourceRateLimited,
    SourceUnavailable,
)
from soundsync_core.sources.lastfm_client import LastfmClient, as_int
from soundsync_core.sources.lastfm_errors import LastfmError
from soundsync_core.taste.profile import RankedArtist, RankedTrack

log = logging.getLogger(__name__)

PERIOD = "12month"
FALLBACK_PERIOD = "overall"
WINDOWS = {PERIOD: "last 12 months", FALLBACK_PERIOD: "all time"}
TOP_LIMIT = 200
LIGHT_USER_ARTISTS = 10
TAGGED_ARTISTS = 50


class LastfmNoListening(SourceNotReady):
    """The member has scrobbled nothing yet."""

    member_message = (
        "Last.fm has no listening for you yet. Once you have scrobbled some music, "
        "your profile will be filled at the next refresh."
    )


@dataclass
class LastfmSource:
    """The :class:`ListeningSource` for Last.fm (``external_id`` = the Last.fm username)."""

    client: LastfmClient
    tag_cache: ArtistTagCache = field(default_factory=MemoryTagCache)
    name: str = "lastfm"
    label: str = "Last.fm"
    refresh_every: timedelta | None = timedelta(days=7)
    needs_credentials: bool = True

    async def fetch(self, account: LinkedAccount) -> Listening:
        """The member's Last.fm listening now; raises :class:`SourceError` subclasses only."""
        user = account.external_id
        if not user:
            raise LastfmError("user.getTopArtists", 0, "no Last.fm username stored")
        session_key = account.credentials.access_token if account.credentials else None
        period, raw_artists = await self._top_artists(user, session_key)
        if not raw_artists:
            raise LastfmNoListening(f"Last.fm user {user!r} has no top artists yet")
        raw_tracks = await self.client.top_tracks(user, period, TOP_LIMIT, session_key=session_key)
        artists = rank_artists(raw_artists)
        genres = await self._genres(artists[:TAGGED_ARTISTS])
        return Listening(
            account_id=user,
            display_name=user,
            artists=tuple(
                RankedArtist(a.id, a.rank, a.name, a.playcount, genres.get(a.id, ())) for a in artists
            ),
            tracks=rank_tracks(raw_tracks),
            window=WINDOWS[period],
        )

    async def _top_artists(
        self, user: str, session_key: str | None
    ) -> tuple[str, list[dict[str, Any]]]:
        recent = await self.client.top_artists(user, PERIOD, TOP_LIMIT, session_key=session_key)
        if len(recent) >= LIGHT_USER_ARTISTS:
            return PERIOD, recent
        overall = await self.client.top_artists(
            user, FALLBACK_PERIOD, TOP_LIMIT, session_key=session_key
        )
        return (FALLBACK_PERIOD, overall) if len(overall) > len(recent) else (PERIOD, recent)

    async def _genres(self, artists: Sequence[RankedArtist]) -> dict[str, tuple[str, ...]]:
        """Cached genres, plus fresh tags for the rest; a slow or busy Last.fm only costs tags."""
        known = await self.tag_cache.fresh([a.id for a in artists])
        fetched: dict[str, tuple[str, ...]] = {}
        for artist in artists:
            if artist.id in known:
                continue
            try:
                tags = await self.client.artist_top_tags(artist.name, mbid_of(artist.id))
            except (SourceRateLimited, SourceUnavailable) as exc:
                log.info("Last.fm tags paused after %d artists: %s", len(fetched), exc)
                break
            fetched[artist.id] = genres_from_tags(artist.name, tags)
        if fetched:
            await self.tag_cache.remember(
                [RankedArtist(a.id, a.rank, a.name, a.playcount, fetched[a.id])
                 for a in artists if a.id in fetched]
            )
        return {**known, **fetched}


def _artist_name(value: Any) -> str:
    """A track's artist: an object with ``name`` (top tracks) or with ``#text`` (other lists)."""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("#text") or "")
    return str(value or "")


def rank_artists(items: Sequence[dict[str, Any]]) -> list[RankedArtist]:
    """Ranked artists from ``user.getTopArtists`` items (same artist twice: counts add up)."""
    ranked: dict[str, RankedArtist] = {}
    for item in items:
        name = str(item.get("name") or "").strip()
        if not name:
            continue
        artist_id = canonical_artist_id(item.get("mbid"), None, name)
        count = as_int(item.get("playcount"))
        if (seen := ranked.get(artist_id)) is not None:
            ranked[artist_id] = RankedArtist(
                artist_id, seen.rank, seen.name, combine_counts(seen.playcount, count)
            )
        else:
            ranked[artist_id] = RankedArtist(artist_id, len(ranked) + 1, name, count)
    return list(ranked.values())


def rank_tracks(items: Sequence[dict[str, Any]]) -> tuple[RankedTrack, ...]:
    """Ranked tracks from ``user.getTopTracks`` items, each with its artist's canonical id."""
    ranked: dict[str, RankedTrack] = {}
    for item in items:
        title = str(item.get("name") or "").strip()
        artist = item.get("artist")
        artist_name = _artist_name(artist).strip()
        if not title or not artist_name:
            continue
        artist_mbid = artist.get("mbid") if isinstance(artist, dict) else None
        track_id = canonical_track_id(item.get("mbid"), None, artist_name, title)
        count = as_int(item.get("playcount"))
        if (seen := ranked.get(track_id)) is not None:
            ranked[track_id] = RankedTrack(
                track_id, seen.rank, seen.name, seen.artist_ids,
                combine_counts(seen.playcount, count),
            )
            continue
        artist_ids = (canonical_artist_id(artist_mbid, None, artist_name),)
        ranked[track_id] = RankedTrack(track_id, len(ranked) + 1, title, artist_ids, count)
    return tuple(ranked.values())
