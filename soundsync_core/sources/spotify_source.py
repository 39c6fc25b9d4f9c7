"""Spotify as a listening source: the adapter behind the protocol, with what only Spotify has.

Network first, database after: every Spotify call runs (through the gateway) in a thread or a
worker process, and no database connection is held while waiting on Spotify. Audio features
are shared by all members, so each track is asked for once and kept in ``track_features``
(provider ``none`` when nobody knows it). Facts about the app (no audio-features access, quota
paused) are kept in ``app_state`` so every process — web, bot, scheduler — learns them.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from soundsync_core.repositories import app_state
from soundsync_core.repositories.profiles import save_track_features, tracks_with_features
from soundsync_core.sources.base import LinkedAccount, Listening
from soundsync_core.sources.errors import (
    SpotifyError,
    SpotifyRateLimited,
    SpotifyRequestError,
    SpotifyTokenExpired,
    SpotifyUnauthorized,
    SpotifyUpstreamError,
)
from soundsync_core.sources.spotify import SpotifyListening
from soundsync_core.sources.spotify_gateway import SpotifyGateway, SpotifyMemberSession
from soundsync_core.taste.profile import AUDIO_FEATURES

log = logging.getLogger(__name__)
# spotipy's DEBUG records hold bearer tokens, token-request bodies and whole /me answers: at any
# configured log level they must not reach a handler.
logging.getLogger("spotipy").setLevel(logging.INFO)

SPOTIFY = "spotify"
# Spotify's top lists cover about 4 weeks, 6 months and a year; they are fused into one ranking.
WINDOW = "last 4 weeks, 6 months and year, fused"
GenreCache = MutableMapping[str, tuple[str, ...]]


def spotify_error_status(exc: SpotifyError) -> str:
    """The HTTP status behind an error, as a metrics label ("connection" when none)."""
    if isinstance(exc, SpotifyRateLimited):
        return "429"
    if isinstance(exc, SpotifyTokenExpired):
        return "400"
    if isinstance(exc, SpotifyUnauthorized):
        return "401"
    if isinstance(exc, SpotifyUpstreamError | SpotifyRequestError):
        return str(exc.status) if exc.status else "connection"
    return "403"  # the remaining classes are all 403s


@dataclass
class Collected:
    """What one member's ingestion fetched, and the Spotify errors met on the way."""

    listening: SpotifyListening
    spotify_errors: list[str] = field(default_factory=list)


# --- app facts -------------------------------------------------------------------------------


async def sync_app_facts(pool: asyncpg.Pool, gateway: SpotifyGateway) -> None:
    """Teach this process's gateway what other processes learnt (403 on features, quota)."""
    if not gateway.audio_features_forbidden:
        fact = await app_state.get_fact(pool, app_state.SPOTIFY_AUDIO_FEATURES)
        gateway.audio_features_forbidden = bool(fact and fact.get("forbidden"))
    quota = await app_state.get_fact(pool, app_state.SPOTIFY_QUOTA_PAUSED_UNTIL)
    if quota:
        left = (datetime.fromisoformat(quota["until"]) - datetime.now(UTC)).total_seconds()
        if left > 0:
            gateway.gate.pause(left, quota_exceeded=True)


async def remember_rate_limit(pool: asyncpg.Pool, exc: SpotifyRateLimited) -> None:
    """QUOTA_EXCEEDED pauses every process and is shown to the admin (bot stats, logs)."""
    if not exc.quota_exceeded:
        return
    until = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
    log.error("Spotify quota exceeded: Spotify calls paused until %s", until.isoformat())
    await app_state.set_fact(
        pool, app_state.SPOTIFY_QUOTA_PAUSED_UNTIL,
        {"until": until.isoformat(), "retry_after": exc.retry_after},
    )


# --- fetching --------------------------------------------------------------------------------


async def _fetch_features(
    pool: asyncpg.Pool, session: SpotifyMemberSession, track_ids: list[str], errors: list[str]
) -> None:
    """Ask for the features nobody has fetched yet, and keep them (shared cache)."""
    async with pool.acquire() as conn:
        have = await tracks_with_features(conn, track_ids)
    missing = [t for t in track_ids if t not in have]
    if not missing:
        return
    try:
        result = await session.audio_features(missing)
    except SpotifyError as exc:
        # Features are optional: the profile goes in now, the features on a later refresh.
        log.warning("audio features skipped for now: %s", exc)
        errors.append(spotify_error_status(exc))
        return
    if result.spotify_forbidden:
        errors.append("403")
        await app_state.set_fact(pool, app_state.SPOTIFY_AUDIO_FEATURES, {"forbidden": True})
    by_provider: dict[str, list[tuple]] = {}
    for track_id, values in result.features.items():
        row = (track_id, *(values.get(f) for f in AUDIO_FEATURES))
        by_provider.setdefault(result.provider[track_id], []).append(row)
    if result.complete:
        # Nobody knows these: record it so they are not asked again and again.
        unknown = [(t, *([None] * len(AUDIO_FEATURES))) for t in missing if t not in result.features]
        by_provider.setdefault("none", []).extend(unknown)
    for provider, rows in by_provider.items():
        # One transaction per provider: save_track_features uses a temp table dropped at commit.
        async with pool.acquire() as conn, conn.transaction():
            await save_track_features(conn, rows, provider=provider)


async def collect(
    pool: asyncpg.Pool, session: SpotifyMemberSession, genre_cache: GenreCache
) -> Collected:
    """Fetch the member's listening and the audio features of tracks new to SoundSync."""
    listening = await session.fetch_listening(genre_cache)
    collected = Collected(listening)
    track_ids = [t.id for t in listening.tracks]
    await _fetch_features(pool, session, track_ids, collected.spotify_errors)
    return collected


def listening_of(spotify: SpotifyListening) -> Listening:
    """The protocol's plain profile; features live in ``track_features``, not in the lists."""
    return Listening(
        account_id=spotify.account_id,
        display_name=spotify.display_name,
        artists=spotify.artists,
        tracks=spotify.tracks,
        window=WINDOW,
    )


class SpotifySource:
    """Spotify behind the listening-source protocol (the weekly refresh reads it again)."""

    name = SPOTIFY
    label = "Spotify"
    refresh_every: timedelta | None = timedelta(days=7)
    needs_credentials = True

    def __init__(
        self, pool: asyncpg.Pool, gateway: SpotifyGateway, genre_cache: GenreCache | None = None
    ) -> None:
        self.pool = pool
        self.gateway = gateway
        self.genre_cache: GenreCache = {} if genre_cache is None else genre_cache

    async def fetch(self, account: LinkedAccount) -> Listening:
        """Top lists (and new tracks' audio features) with the member's stored tokens."""
        if account.credentials is None:
            raise SpotifyTokenExpired("no Spotify tokens stored")
        await sync_app_facts(self.pool, self.gateway)
        session = self.gateway.for_member(account.credentials, on_refresh=account.save_credentials)
        try:
            collected = await collect(self.pool, session, self.genre_cache)
        except SpotifyRateLimited as exc:
            await remember_rate_limit(self.pool, exc)
            raise
        return listening_of(collected.listening)

