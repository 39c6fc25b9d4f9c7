"""Spotify ingestion: a member's top lists and audio features into PostgreSQL.

Network first, database after: every Spotify call runs (through the gateway) in a thread,
and no database connection is held while waiting on Spotify. Audio features are shared by all
members, so each track is asked for once and kept in ``track_features`` (provider ``none``
when nobody knows it). Facts about the app (no audio-features access, quota paused) are kept
in ``app_state`` so every process — web, bot, scheduler — learns them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from soundsync_core.repositories import accounts, app_state
from soundsync_core.repositories.profiles import save_profiles, save_track_features
from soundsync_core.security.vault import TokenVault, VaultError
from soundsync_core.services import notifications
from soundsync_core.services.notifications import LinkEvent
from soundsync_core.sources.errors import (
    SpotifyError,
    SpotifyNotAllowlisted,
    SpotifyRateLimited,
    SpotifyRequestError,
    SpotifyTokenExpired,
    SpotifyUnauthorized,
    SpotifyUpstreamError,
)
from soundsync_core.sources.spotify import SpotifyListening
from soundsync_core.sources.spotify_auth import SpotifyTokens
from soundsync_core.sources.spotify_gateway import (
    SpotifyGateway,
    SpotifyMemberSession,
    TokensHook,
)
from soundsync_core.taste.profile import AUDIO_FEATURES, RankedTrack, TasteProfile

log = logging.getLogger(__name__)
# spotipy's DEBUG records hold bearer tokens, token-request bodies and whole /me answers: at any
# configured log level they must not reach a handler.
logging.getLogger("spotipy").setLevel(logging.INFO)

SOURCE = "spotify"
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


async def _features_to_fetch(pool: asyncpg.Pool, track_ids: list[str]) -> list[str]:
    known = await pool.fetch(
        "SELECT track_id FROM track_features WHERE track_id = ANY($1::text[])", track_ids
    )
    have = {r["track_id"] for r in known}
    return [t for t in track_ids if t not in have]


async def _fetch_features(
    pool: asyncpg.Pool, session: SpotifyMemberSession, track_ids: list[str], errors: list[str]
) -> None:
    """Ask for the features nobody has fetched yet, and keep them (shared cache)."""
    missing = await _features_to_fetch(pool, track_ids)
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


def taste_profile(user_id: int, guild_id: int | None, listening: SpotifyListening) -> TasteProfile:
    """The profile to store; features live in ``track_features``, not in the snapshot."""
    return TasteProfile(
        user_id=user_id,
        artists=listening.artists,
        tracks=tuple(RankedTrack(t.id, t.rank, t.name, t.artist_ids) for t in listening.tracks),
        # "" keeps the member's Discord name; the Spotify name goes to accounts.external_name.
        display_name="",
        guild_ids=() if guild_id is None else (guild_id,),
        sources=(SOURCE,),
    )


async def store_snapshot(
    conn: asyncpg.Connection, user_id: int, guild_id: int | None, listening: SpotifyListening
) -> None:
    """Profile snapshot + ``last_ingested_at``, in the caller's transaction."""
    await save_profiles(conn, [taste_profile(user_id, guild_id, listening)], source=SOURCE)
    await accounts.mark_ingested(conn, user_id, SOURCE)


# --- re-ingesting a linked member ------------------------------------------------------------


INGESTED = "ingested"
EXPIRED = "expired"
NOT_ALLOWLISTED = "not_allowlisted"
RATE_LIMITED = "rate_limited"
QUOTA_EXCEEDED = "quota_exceeded"
UPSTREAM_ERROR = "upstream_error"
FAILED = "error"
NO_TOKENS = "no_tokens"


async def _mark(
    pool: asyncpg.Pool, user_id: int, status: str, detail: str, event: str | None
) -> None:
    """Status change (dead tokens forgotten) and the event for the bot, committed together."""
    async with pool.acquire() as conn, conn.transaction():
        await accounts.set_status(conn, user_id, SOURCE, status, detail, forget_tokens=True)
        if event is not None:
            await notifications.notify_link(conn, LinkEvent(user_id, None, SOURCE, event, False))


async def record_failure(pool: asyncpg.Pool, user_id: int, exc: Exception) -> str:
    """Turn an ingestion failure into the account's status; returns the outcome name."""
    if isinstance(exc, SpotifyTokenExpired | SpotifyUnauthorized):
        await _mark(pool, user_id, accounts.EXPIRED, "Spotify refused the stored login: "
                    "link again", notifications.LINK_EXPIRED)
        return EXPIRED
    if isinstance(exc, VaultError):
        await _mark(pool, user_id, accounts.EXPIRED, str(exc), notifications.LINK_EXPIRED)
        return EXPIRED
    if isinstance(exc, SpotifyNotAllowlisted):
        await _mark(pool, user_id, accounts.NOT_ALLOWLISTED, str(exc),
                    notifications.NOT_ALLOWLISTED)
        return NOT_ALLOWLISTED
    if isinstance(exc, SpotifyRateLimited):
        await remember_rate_limit(pool, exc)
        return QUOTA_EXCEEDED if exc.quota_exceeded else RATE_LIMITED
    if isinstance(exc, SpotifyUpstreamError):
        return UPSTREAM_ERROR  # still active: the next refresh tries again
    async with pool.acquire() as conn:
        await accounts.set_status(conn, user_id, SOURCE, accounts.ERROR, str(exc))
    return FAILED


def _token_saver(pool: asyncpg.Pool, vault: TokenVault, user_id: int) -> TokensHook:
    async def save(tokens: SpotifyTokens) -> None:
        # Stored at once: a rotated refresh token lost here would end the link.
        async with pool.acquire() as conn:
            await accounts.update_tokens(conn, vault, user_id, SOURCE, tokens)

    return save


async def ingest_member(
    pool: asyncpg.Pool,
    gateway: SpotifyGateway,
    vault: TokenVault,
    user_id: int,
    genre_cache: GenreCache,
) -> str:
    """Re-ingest one linked member from their stored tokens; returns the outcome name."""
    try:
        async with pool.acquire() as conn:
            tokens = await accounts.load_tokens(conn, vault, user_id, SOURCE)
        if tokens is None:
            return NO_TOKENS
        await sync_app_facts(pool, gateway)
        session = gateway.for_member(tokens, on_refresh=_token_saver(pool, vault, user_id))
        collected = await collect(pool, session, genre_cache)
    except (SpotifyError, VaultError) as exc:
        log.info("ingesting member %s failed: %s", user_id, exc)
        return await record_failure(pool, user_id, exc)
    async with pool.acquire() as conn, conn.transaction():
        await store_snapshot(conn, user_id, None, collected.listening)
    return INGESTED


@dataclass
class RefreshReport:
    """How a scheduled refresh went: outcome → members, and whether it stopped early."""

    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_early: bool = False


async def refresh_stale_profiles(
    pool: asyncpg.Pool,
    gateway: SpotifyGateway,
    vault: TokenVault,
    older_than: timedelta = timedelta(days=7),
    limit: int = 100,
    stagger: float = 1.0,
    genre_cache: GenreCache | None = None,
) -> RefreshReport:
    """Re-ingest up to ``limit`` profiles older than ``older_than``, one every ``stagger`` s.

    Staggering spreads the calls over Spotify's rolling 30-second window. A rate limit or
    quota answer stops the run: every further call would be refused too.
    """
    async with pool.acquire() as conn:
        due = await accounts.stale_accounts(conn, SOURCE, older_than, limit)
    report = RefreshReport()
    cache: GenreCache = {} if genre_cache is None else genre_cache
    for position, user_id in enumerate(due):
        if position:
            await asyncio.sleep(stagger)
        outcome = await ingest_member(pool, gateway, vault, user_id, cache)
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        if outcome in (RATE_LIMITED, QUOTA_EXCEEDED):
            report.stopped_early = position + 1 < len(due)
            break
    return report
