"""Ingestion from any listening source: a member's listening into PostgreSQL, and the refresh.

Everything here speaks the listening-source protocol (:mod:`soundsync_core.sources.base`):
a source fetches a member's :class:`Listening`, its errors say what happens next, and the
:class:`SourceRegistry` says which sources the scheduled refresh reads again. Network first,
database after: no connection is held while a source is being asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from soundsync_core.profiles.identity import evidence_of, rekey
from soundsync_core.repositories import accounts, app_state
from soundsync_core.repositories.artist_catalogue import resolve_artist_ids
from soundsync_core.repositories.profiles import save_profiles
from soundsync_core.security.vault import TokenVault, VaultError
from soundsync_core.services import notifications
from soundsync_core.services.notifications import LinkEvent
from soundsync_core.sources import base
from soundsync_core.sources.base import (
    Credentials,
    LinkedAccount,
    Listening,
    ListeningSource,
    SaveCredentials,
    SourceError,
    SourceRateLimited,
    SourceRegistry,
)
from soundsync_core.taste.profile import TasteProfile

log = logging.getLogger(__name__)

# Outcomes of one member's re-ingestion (refresh reports count them).
INGESTED = "ingested"
EXPIRED = "expired"
# base.NOT_ALLOWLISTED (one spelling everywhere): the member is not on the app's allowlist
RATE_LIMITED = "rate_limited"
QUOTA_EXCEEDED = "quota_exceeded"
FAILED = "error"
NO_TOKENS = "no_tokens"
# What the member is told, per account status the failure leads to (the bot DMs it).
_EVENTS = {base.EXPIRED: notifications.LINK_EXPIRED, base.NOT_ALLOWLISTED: base.NOT_ALLOWLISTED}


def taste_profile(
    user_id: int, guild_id: int | None, source: str, listening: Listening, member_name: str = ""
) -> TasteProfile:
    """The snapshot to store: ranks and play counts; audio features live in ``track_features``."""
    return TasteProfile(
        user_id=user_id,
        artists=listening.artists,
        tracks=tuple(dataclasses.replace(t, audio_features=None) for t in listening.tracks),
        # The member's Discord name ("" keeps the stored one); the source's own name for them
        # goes to accounts.external_name.
        display_name=member_name,
        guild_ids=() if guild_id is None else (guild_id,),
        sources=(source,),
    )


async def meet_catalogue(conn: asyncpg.Connection, listening: Listening) -> Listening:
    """The listening with its artists under the ids the catalogue already uses.

    One taste across sources (:mod:`soundsync_core.profiles.identity`): an artist Last.fm knows
    by MBID and Spotify by its id gets one id, whoever brought it first, so two members who
    love the same artist share it whichever source each used.
    """
    if not listening.artists:
        return listening
    ids = await resolve_artist_ids(conn, {a.id: evidence_of(a) for a in listening.artists})
    artists, tracks = rekey(listening.artists, listening.tracks, ids)
    return dataclasses.replace(listening, artists=artists, tracks=tracks)


async def store_listening(
    conn: asyncpg.Connection, user_id: int, guild_id: int | None, source: str, listening: Listening,
    member_name: str | None = None,
) -> None:
    """Profile snapshot of ``source`` (artists met with the catalogue), ``last_ingested_at``
    and the window it covers, in the caller's transaction; ``member_name``: the member's
    Discord display name when the caller knows it (a link)."""
    listening = await meet_catalogue(conn, listening)
    profile = taste_profile(user_id, guild_id, source, listening, member_name or "")
    await save_profiles(conn, [profile], source=source)
    await accounts.mark_ingested(conn, user_id, source, listening.window or None)


# --- re-ingesting a linked member ------------------------------------------------------------


async def _mark(
    pool: asyncpg.Pool, user_id: int, source: str, status: str, detail: str, event: str | None
) -> None:
    """Status change (dead credentials forgotten) and the event for the bot, committed together."""
    async with pool.acquire() as conn, conn.transaction():
        await accounts.set_status(conn, user_id, source, status, detail, forget_tokens=True)
        if event is not None:
            await notifications.notify_link(conn, LinkEvent(user_id, None, source, event, False))


async def note_admin_problem(pool: asyncpg.Pool, source: str, exc: Exception | None) -> None:
    """Keep (or, with None, clear) what the bot owner must fix at ``source`` for
    ``/soundsync-stats``: an error with an ``admin_message``, such as a rejected API key."""
    message = getattr(exc, "admin_message", None)
    problems = dict(await app_state.get_fact(pool, app_state.SOURCE_PROBLEMS) or {})
    if message is not None:
        problems[source] = message
    elif problems.pop(source, None) is None:
        return
    await app_state.set_fact(pool, app_state.SOURCE_PROBLEMS, problems)


async def record_failure(pool: asyncpg.Pool, source: str, user_id: int, exc: Exception) -> str:
    """Turn an ingestion failure into the account's status; returns the outcome name."""
    if hasattr(exc, "admin_message"):
        await note_admin_problem(pool, source, exc)
    if isinstance(exc, VaultError):
        await _mark(pool, user_id, source, base.EXPIRED, str(exc), notifications.LINK_EXPIRED)
        return EXPIRED
    if isinstance(exc, SourceRateLimited):
        return QUOTA_EXCEEDED if exc.quota_exceeded else RATE_LIMITED
    if not isinstance(exc, SourceError):
        raise exc
    status = exc.account_status
    if status in _EVENTS:
        await _mark(pool, user_id, source, status, str(exc), _EVENTS[status])
    elif status is not None:
        async with pool.acquire() as conn:
            await accounts.set_status(conn, user_id, source, status, str(exc))
    return exc.outcome


def _credentials_saver(
    pool: asyncpg.Pool, vault: TokenVault, user_id: int, source: str
) -> SaveCredentials:
    async def save(credentials: Credentials) -> None:
        # Stored at once: a rotated refresh token lost here would end the link.
        async with pool.acquire() as conn:
            await accounts.update_credentials(conn, vault, user_id, source, credentials)

    return save


async def ingest_member(
    pool: asyncpg.Pool, source: ListeningSource, vault: TokenVault, user_id: int
) -> str:
    """Fetch one linked member's listening again from ``source``; returns the outcome name."""
    try:
        async with pool.acquire() as conn:
            external_id, credentials = await accounts.load_account(conn, vault, user_id, source.name)
        if source.needs_credentials and credentials is None:
            return NO_TOKENS
        account = LinkedAccount(
            user_id, external_id, credentials,
            save_credentials=_credentials_saver(pool, vault, user_id, source.name),
        )
        listening = await source.fetch(account)
    except (SourceError, VaultError) as exc:
        log.info("ingesting member %s from %s failed: %s", user_id, source.name, exc)
        return await record_failure(pool, source.name, user_id, exc)
    async with pool.acquire() as conn, conn.transaction():
        await store_listening(conn, user_id, None, source.name, listening)
    await note_admin_problem(pool, source.name, None)
    return INGESTED


@dataclass
class RefreshReport:
    """How a scheduled refresh went: outcome → members, and the sources it stopped early."""

    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_early: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        """One more member with ``outcome``."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


async def refresh_source(
    pool: asyncpg.Pool,
    source: ListeningSource,
    vault: TokenVault,
    report: RefreshReport,
    *,
    older_than: timedelta | None = None,
    limit: int = 100,
    stagger: float = 1.0,
) -> None:
    """Re-ingest up to ``limit`` of the source's profiles older than ``older_than``.

    One member every ``stagger`` seconds spreads the calls over the service's rate window. A
    rate limit stops this source's run (every further call would be refused too) — never the
    other sources'. ``older_than`` defaults to the source's ``refresh_every``.
    """
    age = older_than if older_than is not None else source.refresh_every
    if age is None:
        return
    async with pool.acquire() as conn:
        due = await accounts.stale_accounts(
            conn, source.name, age, limit, with_credentials=source.needs_credentials
        )
    for position, user_id in enumerate(due):
        if position:
            await asyncio.sleep(stagger)
        outcome = await ingest_member(pool, source, vault, user_id)
        report.count(outcome)
        if outcome in (RATE_LIMITED, QUOTA_EXCEEDED):
            if position + 1 < len(due):
                report.stopped_early.append(source.name)
            break


async def refresh_stale_profiles(
    pool: asyncpg.Pool,
    sources: SourceRegistry,
    vault: TokenVault,
    *,
    older_than: timedelta | None = None,
    limit: int = 100,
    stagger: float = 1.0,
) -> RefreshReport:
    """The scheduled refresh: every refreshable source's stale and never-fetched profiles."""
    report = RefreshReport()
    for source in sources.refreshed():
        await refresh_source(
            pool, source, vault, report, older_than=older_than, limit=limit, stagger=stagger
        )
    if report.outcomes:
        log.info("profile refresh: %s", ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())))
    return report
