"""Spotify listening source: spotipy client construction and the merged top lists.

``fetch_listening`` reads ``/me`` and the top artists and top tracks of the three time ranges
and fuses them into one ranked list each. Its reads come from a :class:`SpotifyReads` (the
async, rate-limit-aware member session of ``spotify_gateway``), so this module holds no
retry or threading logic of its own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import spotipy

from soundsync_core.sources.errors import (
    SpotifyForbidden,
    SpotifyRateLimited,
    SpotifyRequestError,
    SpotifyUpstreamError,
    thread_session,
)
from soundsync_core.sources.spotify_auth import DEFAULT_TIMEOUT
from soundsync_core.taste.profile import RankedArtist, RankedTrack

log = logging.getLogger(__name__)

TIME_RANGES: tuple[str, ...] = ("short_term", "medium_term", "long_term")
TOP_LIMIT = 50
# Weighted reciprocal-rank fusion (Cormack et al., 2009) across the three time ranges. Matching
# is about lasting taste, so the ~6-month and ~1-year lists count fully and the ~4-week list,
# which a single week's obsession can dominate, a little less. RRF needs no comparable scores
# (Spotify gives only ranks) and rewards items that rank well in several ranges.
TIME_RANGE_WEIGHTS: Mapping[str, float] = {
    "short_term": 0.8,
    "medium_term": 1.0,
    "long_term": 1.0,
}
# The usual k = 60 was tuned for lists of ~1000 documents; with at most 50 items per list a
# smaller k keeps the head of each list distinct from its tail.
RRF_K = 20.0
_GENRE_LOOKUP_ERRORS = (
    SpotifyForbidden, SpotifyRequestError, SpotifyRateLimited, SpotifyUpstreamError,
)


class SpotifyReads(Protocol):
    """The Web API reads ``fetch_listening`` needs (answers are spotipy's parsed JSON)."""

    async def me(self) -> dict[str, Any]: ...

    async def top_artists(self, time_range: str) -> dict[str, Any]: ...

    async def top_tracks(self, time_range: str) -> dict[str, Any]: ...

    async def artist(self, artist_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SpotifyListening:
    """What one Spotify account tells us; ``account_id`` is the immutable key to store."""

    account_id: str
    user_id: str
    display_name: str
    artists: tuple[RankedArtist, ...]
    tracks: tuple[RankedTrack, ...]
    genres_available: bool


_local = threading.local()


def thread_client(api_url: str, access_token: str, *, timeout: float = DEFAULT_TIMEOUT) -> spotipy.Spotify:
    """This thread's spotipy client, pointed at ``api_url`` and carrying ``access_token``.

    One client (and session, so its connections are reused) per worker thread or process; the
    token is set per call. We pass our own session: spotipy then mounts no urllib3 ``Retry``
    (whose 429 handling sleeps for the whole ``Retry-After`` inside the worker); retries are ours.
    """
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = spotipy.Spotify(
            requests_session=thread_session(), requests_timeout=timeout
        )
    client.prefix = api_url.rstrip("/") + "/"
    client.requests_timeout = timeout
    client.set_auth(access_token)
    return client


def fuse_rankings(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] = TIME_RANGE_WEIGHTS,
    k: float = RRF_K,
) -> list[str]:
    """Ids ordered by weighted reciprocal-rank fusion; ties → best single rank, then id."""
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for time_range, ids in rankings.items():
        weight = weights.get(time_range, 1.0)
        for position, item in enumerate(dict.fromkeys(ids), start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + position)
            best[item] = min(best.get(item, position), position)
    return sorted(scores, key=lambda item: (-scores[item], best[item], item))


def _by_id(pages: Mapping[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """First payload seen for each id (they are the same object across time ranges)."""
    found: dict[str, dict[str, Any]] = {}
    for items in pages.values():
        for item in items:
            found.setdefault(item["id"], item)
    return found


def _fused(pages: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    return fuse_rankings({r: [item["id"] for item in items] for r, items in pages.items()})


def rank_artists(
    pages: Mapping[str, list[dict[str, Any]]], genres: Mapping[str, tuple[str, ...]]
) -> tuple[RankedArtist, ...]:
    """One ranked artist list from the per-time-range top artists."""
    payloads = _by_id(pages)
    return tuple(
        RankedArtist(id=a, rank=rank, name=payloads[a].get("name", ""), genres=genres.get(a, ()))
        for rank, a in enumerate(_fused(pages), start=1)
    )


def rank_tracks(pages: Mapping[str, list[dict[str, Any]]]) -> tuple[RankedTrack, ...]:
    """One ranked track list from the per-time-range top tracks."""
    payloads = _by_id(pages)
    return tuple(
        RankedTrack(
            id=t,
            rank=rank,
            name=payloads[t].get("name", ""),
            artist_ids=tuple(a["id"] for a in payloads[t].get("artists", ()) if a.get("id")),
        )
        for rank, t in enumerate(_fused(pages), start=1)
    )


async def _lookup_genres(
    reads: SpotifyReads, missing: list[str], cache: MutableMapping[str, tuple[str, ...]]
) -> bool:
    """``GET /artists/{id}`` one by one; stops at the first answer without ``genres``."""
    for artist_id in missing:
        try:
            payload = await reads.artist(artist_id)
        except _GENRE_LOOKUP_ERRORS as exc:
            # Genres are optional: a profile without them beats no profile. A failure says
            # nothing about whether this app gets genres, so the answer stays "yes".
            log.warning("artist genre lookup stopped: %s", exc)
            return True
        if "genres" not in payload:
            return False  # this app gets no genres at all (development mode)
        cache[artist_id] = tuple(payload["genres"])
    return True


async def collect_genres(
    reads: SpotifyReads,
    artists: Mapping[str, dict[str, Any]],
    cache: MutableMapping[str, tuple[str, ...]],
    *,
    lookup: bool = True,
) -> bool:
    """Fill ``cache`` with genres of ``artists``; returns whether this app gets genres."""
    in_payload = {a: p["genres"] for a, p in artists.items() if "genres" in p}
    cache.update({a: tuple(g) for a, g in in_payload.items()})
    missing = [a for a in artists if a not in cache]
    if not missing:
        return True
    return await _lookup_genres(reads, missing, cache) if lookup else False


async def fetch_listening(
    reads: SpotifyReads,
    genre_cache: MutableMapping[str, tuple[str, ...]],
    *,
    lookup_genres: bool = True,
) -> SpotifyListening:
    """``/me`` + top artists/tracks of every time range, fused into one ranking each.

    ``genre_cache`` (artist id → genres) is shared by the caller across members; artists
    whose payload lacks ``genres`` are looked up one by one unless ``lookup_genres`` is False.
    """
    # /me alone first: a 401, 403 or 429 then costs one call, not seven.
    me = await reads.me()
    tops = await asyncio.gather(
        *(reads.top_artists(r) for r in TIME_RANGES),
        *(reads.top_tracks(r) for r in TIME_RANGES),
    )
    artist_pages = {r: page["items"] for r, page in zip(TIME_RANGES, tops[:3], strict=True)}
    track_pages = {r: page["items"] for r, page in zip(TIME_RANGES, tops[3:], strict=True)}
    has_genres = await collect_genres(
        reads, _by_id(artist_pages), genre_cache, lookup=lookup_genres
    )
    return SpotifyListening(
        account_id=me.get("account_id") or me["id"],
        user_id=me["id"],
        display_name=me.get("display_name") or me["id"],
        artists=rank_artists(artist_pages, genre_cache),
        tracks=rank_tracks(track_pages),
        genres_available=has_genres,
    )
