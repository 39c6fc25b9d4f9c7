"""Linking the sources past Spotify's allowlist: Last.fm (web auth) and ListenBrainz (user token).

Last.fm: ``/link`` makes a one-time state for the ``lastfm`` source; our web ``/link`` page names
the member and its Continue form leads to Last.fm's auth page with ``cb`` = our
``/lastfm/callback?state=…``; Last.fm comes back there with a ``token``, which the signed
``auth.getSession`` turns into the member's username and a session key. So nobody can claim
someone else's public profile. The session key is stored encrypted like Spotify's tokens.

ListenBrainz: the member types their username and user token in a Discord modal; the token is
checked with ``validate-token`` (its ``user_name`` must be the username given) and discarded —
statistics are public, only the username is kept.

Either way the first fetch happens before anything is written: an error leaves no account and
no profile. Statistics not computed yet (:class:`SourceNotReady`) keep the account (the login
works), and the scheduled refresh fetches the profile later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import asyncpg

from soundsync_core.repositories import accounts
from soundsync_core.security.states import StateError, consume_state, release_state
from soundsync_core.security.vault import TokenVault
from soundsync_core.services import notifications
from soundsync_core.services.ingestion import note_admin_problem, store_listening
from soundsync_core.services.notifications import LinkEvent
from soundsync_core.settings import Settings
from soundsync_core.sources.base import (
    Credentials,
    LinkedAccount,
    Listening,
    ListeningSource,
    SourceError,
    SourceNotReady,
    SourceRateLimited,
)
from soundsync_core.sources.lastfm import LastfmSource
from soundsync_core.sources.lastfm_client import auth_page_url
from soundsync_core.sources.listenbrainz import ListenBrainzSource

log = logging.getLogger(__name__)

# Outcomes (the web page and the bot's answer are chosen by them).
LINKED = "linked"          # account + profile stored
PENDING = "pending"        # account stored; the service has no statistics yet
CANCELLED = "cancelled"    # the member came back without approving
BAD_STATE = "bad_state"    # missing / unknown / expired / reused state, or another service's
FAILED = "failed"          # the service refused or failed: nothing stored


@dataclass(frozen=True)
class SourceLinkResult:
    """What a link attempt achieved. Never holds a token; ``message`` is safe to show members,
    ``admin_message`` (when set) is what the bot owner must fix."""

    outcome: str
    service: str
    member_name: str | None = None
    account_name: str = ""
    top_artists: tuple[str, ...] = ()
    message: str = ""
    admin_message: str | None = None


class ProviderLink(Protocol):
    """A web sign-in the ``/link`` page's Continue form can lead to (besides Spotify's)."""

    label: str
    provider_origin: str

    def authorize_url(self, state: str) -> str:
        """The provider's page that asks the member to allow SoundSync, for this state."""
        ...


async def store_source_link(
    pool: asyncpg.Pool, vault: TokenVault, source: ListeningSource, user_id: int,
    guild_id: int | None, credentials: Credentials | None, listening: Listening | None,
    account_id: str, member_name: str | None = None,
) -> None:
    """One transaction: member, account (credentials encrypted), profile (if any), NOTIFY."""
    async with pool.acquire() as conn, conn.transaction():
        await accounts.upsert_member(conn, user_id, guild_id)
        await accounts.store_link(
            conn, vault, user_id, source.name, credentials, external_id=account_id,
            external_name=listening.display_name if listening else account_id,
        )
        if listening is not None:
            await store_listening(conn, user_id, guild_id, source.name, listening, member_name)
        await notifications.notify_link(
            conn, LinkEvent(user_id, guild_id, source.name, profile_ready=listening is not None)
        )


async def _fetch_and_store(
    pool: asyncpg.Pool, vault: TokenVault, source: ListeningSource, user_id: int,
    guild_id: int | None, account_id: str, credentials: Credentials | None,
    member_name: str | None,
) -> SourceLinkResult:
    """The first fetch, then the link; :class:`SourceError` (except not-ready) stores nothing."""
    try:
        listening = await source.fetch(LinkedAccount(user_id, account_id, credentials))
    except SourceNotReady as exc:
        await store_source_link(pool, vault, source, user_id, guild_id, credentials, None,
                                account_id, member_name)
        return SourceLinkResult(PENDING, source.label, member_name, account_id,
                                message=exc.member_message)
    await store_source_link(pool, vault, source, user_id, guild_id, credentials, listening,
                            account_id, member_name)
    return SourceLinkResult(LINKED, source.label, member_name, listening.display_name,
                            tuple(a.name for a in listening.artists[:10]))


def _failed(service: str, exc: SourceError, member_name: str | None = None) -> SourceLinkResult:
    # A refresh "later" is no comfort when nothing was linked: the member tries again.
    message = (f"{service} asked us to slow down. Please try /link again in a minute."
               if isinstance(exc, SourceRateLimited) else exc.member_message)
    return SourceLinkResult(FAILED, service, member_name, message=message,
                            admin_message=getattr(exc, "admin_message", None))


class LastfmLinking:
    """The Last.fm web-auth link (a :class:`ProviderLink`), one per process."""

    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, vault: TokenVault, source: LastfmSource
    ) -> None:
        settings.require("lastfm_api_key", "lastfm_api_secret")
        assert settings.lastfm_api_key is not None  # checked just above
        self.settings = settings
        self.pool = pool
        self.vault = vault
        self.source = source
        self.label = source.label
        self._api_key = settings.lastfm_api_key.get_secret_value()
        auth = urlsplit(str(settings.lastfm_auth_url))
        self.provider_origin = f"{auth.scheme}://{auth.netloc}"

    def callback_url(self, state: str) -> str:
        """Our callback, with the state in it (Last.fm passes ``cb`` through untouched)."""
        base = str(self.settings.public_base_url).rstrip("/")
        return f"{base}/lastfm/callback?{urlencode({'state': state})}"

    def authorize_url(self, state: str) -> str:
        """Last.fm's auth page for this state."""
        return auth_page_url(str(self.settings.lastfm_auth_url), self._api_key,
                             self.callback_url(state))

    async def finish(self, *, state: str | None, token: str | None) -> SourceLinkResult:
        """Last.fm's return to ``/lastfm/callback``: state → ``auth.getSession`` → fetch → store."""
        if not token:
            return SourceLinkResult(CANCELLED, self.label)
        try:
            async with self.pool.acquire() as conn:
                request = await consume_state(conn, self.vault, state)
            if request.source != self.source.name:
                raise StateError("not a Last.fm link")
        except StateError as exc:
            return SourceLinkResult(BAD_STATE, self.label, message=exc.reason)
        try:
            session = await self.source.client.get_session(token)
            result = await _fetch_and_store(
                self.pool, self.vault, self.source, request.user_id, request.guild_id,
                session.username, Credentials(access_token=session.key), request.member_name,
            )
        except SourceError as exc:
            log.info("Last.fm link of member %s failed: %s", request.user_id, exc)
            if hasattr(exc, "admin_message"):
                await note_admin_problem(self.pool, self.source.name, exc)
            result = _failed(self.label, exc, request.member_name)
        if result.outcome == FAILED:
            # Nothing was written: the member's /link page keeps working for its ten minutes.
            async with self.pool.acquire() as conn:
                await release_state(conn, str(state))
        return result


async def link_listenbrainz(
    pool: asyncpg.Pool, vault: TokenVault, source: ListenBrainzSource, user_id: int,
    guild_id: int | None, username: str, token: str, member_name: str | None = None,
) -> SourceLinkResult:
    """The modal's username and user token: ownership proved, token dropped, profile fetched."""
    try:
        owner = await source.client.verify_user(username, token)
        return await _fetch_and_store(pool, vault, source, user_id, guild_id, owner, None,
                                      member_name)
    except SourceError as exc:
        log.info("ListenBrainz link of member %s failed: %s", user_id, exc)
        return _failed(source.label, exc)
