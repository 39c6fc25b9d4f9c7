"""Linking a member's Spotify account: the use cases behind ``/link`` and ``/callback``.

1. :func:`start_link` (bot ``/link``, ``soundsync link-url``): a one-time state bound to the
   member (and their Discord display name), and the URL of our web ``/link`` page.
2. :meth:`LinkingService.link_page` (web ``GET /link``): whom the link is for, and the Continue
   form's token. A forwarded link shows the stranger whose account it would join; nothing
   changes until they choose to continue.
3. :meth:`LinkingService.continue_url` (web ``POST /link/continue``): the form token checked,
   Spotify's authorize URL for that state (auth-code + PKCE S256, scope ``user-top-read``, the
   exact redirect URI). The state is not used up.
4. :meth:`LinkingService.finish_link` (web ``GET /callback``): state → token exchange →
   ingestion → one transaction with the encrypted tokens, the profile and the NOTIFY.

Nothing is half-written: either the whole link commits or nothing member-owned does (the
shared audio-feature cache aside). When nothing was written the state is released, so the
member's link keeps working for its ten minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from soundsync_core.repositories import accounts
from soundsync_core.security.states import (
    LinkRequest,
    StateError,
    consume_state,
    continue_token,
    continue_token_matches,
    create_state,
    form_key,
    release_state,
)
from soundsync_core.security.vault import TokenVault
from soundsync_core.services import notifications
from soundsync_core.services.ingestion import store_listening
from soundsync_core.services.notifications import LinkEvent
from soundsync_core.services.source_linking import ProviderLink
from soundsync_core.settings import Settings
from soundsync_core.sources.base import Credentials
from soundsync_core.sources.errors import (
    SpotifyError,
    SpotifyNotAllowlisted,
    SpotifyRateLimited,
    SpotifyTokenExpired,
    SpotifyUpstreamError,
)
from soundsync_core.sources.spotify_auth import code_challenge, new_code_verifier
from soundsync_core.sources.spotify_gateway import SpotifyGateway
from soundsync_core.sources.spotify_source import (
    SPOTIFY,
    GenreCache,
    collect,
    listening_of,
    remember_rate_limit,
    spotify_error_status,
    sync_app_facts,
)

log = logging.getLogger(__name__)

# Outcomes of a callback (the web app picks the page and the HTTP status from them).
LINKED = "linked"                   # tokens + profile stored
PENDING = "pending"                 # tokens stored; Spotify busy, profile fetched later
CANCELLED = "cancelled"             # the member pressed Cancel on Spotify
BAD_STATE = "bad_state"             # missing / unknown / expired / reused / tampered state
BAD_REQUEST = "bad_request"         # no code, or Spotify reported another authorize error
BAD_CODE = "bad_code"               # the token endpoint refused the code (invalid_grant)
EXCHANGE_FAILED = "exchange_failed"  # the token endpoint failed: nothing written
# accounts.NOT_ALLOWLISTED (one spelling everywhere): development-mode app, member not allowlisted
SPOTIFY_FAILED = "spotify_failed"   # the Web API refused the new login: nothing written


@dataclass(frozen=True)
class LinkResult:
    """What a callback achieved. Never holds a token; ``message`` is safe to show."""

    outcome: str
    user_id: int | None = None
    guild_id: int | None = None
    member_name: str | None = None
    spotify_name: str = ""
    top_artists: tuple[str, ...] = ()
    message: str = ""
    spotify_errors: tuple[str, ...] = ()
    quota_exceeded: bool = False


@dataclass(frozen=True)
class LinkPage:
    """What the web ``/link`` page shows and posts: never a token of the provider's."""

    service: str
    member_name: str | None
    state: str
    form_token: str


def member_link_url(settings: Settings, state: str) -> str:
    """Our web ``/link`` URL for a state (what the bot shows the member)."""
    return f"{str(settings.public_base_url).rstrip('/')}/link?{urlencode({'state': state})}"


async def start_link(
    pool: asyncpg.Pool, vault: TokenVault, settings: Settings, user_id: int,
    guild_id: int | None = None, member_name: str | None = None, source: str = SPOTIFY,
) -> str:
    """Create a one-time state for the member's link to ``source``; returns
    ``PUBLIC_BASE_URL/link?state=…``.

    ``member_name`` (their Discord display name) is what the web page tells whoever opens it.
    """
    async with pool.acquire() as conn:
        state = await create_state(conn, vault, user_id, guild_id, new_code_verifier(),
                                   member_name, source)
    return member_link_url(settings, state)


def _authorize_url(gateway: SpotifyGateway, state: str, verifier: str) -> str:
    """Spotify's authorize URL carrying the challenge of the verifier stored with the state.

    The verifier is chosen when the state is created (before any URL exists), so the
    challenge of the freshly built request is swapped for the stored verifier's one.
    """
    parts = urlsplit(gateway.authorization_request(state).url)
    query = [
        (key, code_challenge(verifier) if key == "code_challenge" else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


class LinkingService:
    """The link use cases with their dependencies (one per process, shared by requests)."""

    service = "Spotify"

    def __init__(
        self, settings: Settings, pool: asyncpg.Pool, gateway: SpotifyGateway, vault: TokenVault,
        providers: Mapping[str, ProviderLink] | None = None,
    ) -> None:
        settings.require("soundsync_secret_key")
        # The other web sign-ins a state may be for, by source name (Last.fm).
        self.providers = dict(providers or {})
        self.settings = settings
        self.pool = pool
        self.gateway = gateway
        self.vault = vault
        self._form_key = form_key(settings.soundsync_secret_key)
        # artist id → genres, shared by every member this process ingests.
        self.genre_cache: GenreCache = {}

    @property
    def provider_origin(self) -> str:
        """Scheme and host of the provider's authorize page (where the Continue form leads)."""
        parts = urlsplit(str(self.settings.spotify_accounts_url))
        return f"{parts.scheme}://{parts.netloc}"

    async def start_link(
        self, user_id: int, guild_id: int | None = None, member_name: str | None = None
    ) -> str:
        """See :func:`start_link`."""
        return await start_link(self.pool, self.vault, self.settings, user_id, guild_id,
                                member_name)

    async def peek_state(self, state: str | None) -> LinkRequest:
        """The state's request without using it up; :class:`StateError` when it is not valid."""
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                # consume_state gives the precise reason; the rollback leaves the state unused.
                return await consume_state(conn, self.vault, state)
            finally:
                await tx.rollback()

    async def link_page(self, state: str | None) -> LinkPage:
        """What ``GET /link`` shows; :class:`StateError` when the state is bad."""
        request = await self.peek_state(state)
        provider = self.providers.get(request.source)
        if request.source != SPOTIFY and provider is None:
            raise StateError("for a service this bot does not offer")
        return LinkPage(provider.label if provider else self.service, request.member_name,
                        str(state), continue_token(self._form_key, str(state)))

    async def continue_url(self, state: str | None, form_token: str | None) -> str:
        """Where ``POST /link/continue`` sends the member: the provider's authorize URL.

        :class:`StateError` when the state is bad or the form token is not that state's.
        """
        request = await self.peek_state(state)
        if not continue_token_matches(self._form_key, str(state), form_token or ""):
            raise StateError("not confirmed on its own page")
        if request.source != SPOTIFY:
            if (provider := self.providers.get(request.source)) is None:
                raise StateError("for a service this bot does not offer")
            return provider.authorize_url(str(state))
        return _authorize_url(self.gateway, str(state), request.code_verifier)

    async def finish_link(
        self, *, state: str | None, code: str | None, error: str | None
    ) -> LinkResult:
        """Handle Spotify's redirect back to ``/callback`` (see the module docstring)."""
        if error == "access_denied":
            return LinkResult(CANCELLED)
        if error or not code:
            return LinkResult(BAD_REQUEST, message=f"Spotify reported: {error or 'no code'}")
        try:
            async with self.pool.acquire() as conn:
                request = await consume_state(conn, self.vault, state)
            if request.source != SPOTIFY:
                raise StateError("not a Spotify link")
        except StateError as exc:
            return LinkResult(BAD_STATE, message=exc.reason)
        try:
            result = await self._link(request, code)
        except BaseException:
            await self._release(str(state))
            raise
        if result.outcome in (EXCHANGE_FAILED, BAD_CODE, SPOTIFY_FAILED):
            await self._release(str(state))
        return result

    async def _release(self, state: str) -> None:
        async with self.pool.acquire() as conn:
            await release_state(conn, state)

    async def _link(self, request: LinkRequest, code: str) -> LinkResult:
        base = {"user_id": request.user_id, "guild_id": request.guild_id,
                "member_name": request.member_name}
        try:
            tokens = await self.gateway.exchange_code(code, request.code_verifier)
        except SpotifyTokenExpired as exc:
            # invalid_grant: the code is wrong, used, expired or not this state's (PKCE).
            log.info("token exchange refused the code for member %s: %s", request.user_id, exc)
            return LinkResult(BAD_CODE, **base, spotify_errors=(spotify_error_status(exc),))
        except SpotifyError as exc:
            log.warning("token exchange failed for member %s: %s", request.user_id, exc)
            return LinkResult(EXCHANGE_FAILED, **base, spotify_errors=(spotify_error_status(exc),))
        await sync_app_facts(self.pool, self.gateway)
        session = self.gateway.for_member(tokens)
        try:
            collected = await collect(self.pool, session, self.genre_cache)
        except SpotifyError as exc:
            return await self._after_ingest_failure(request, session.tokens, exc)
        listening = collected.listening
        async with self.pool.acquire() as conn, conn.transaction():
            await accounts.upsert_member(conn, request.user_id, request.guild_id)
            await accounts.store_link(
                conn, self.vault, request.user_id, SPOTIFY, session.tokens,
                external_id=listening.account_id, external_name=listening.display_name,
            )
            await store_listening(conn, request.user_id, request.guild_id, SPOTIFY,
                                  listening_of(listening), request.member_name)
            await notifications.notify_link(conn, LinkEvent(request.user_id, request.guild_id,
                                                            SPOTIFY))
        return LinkResult(
            LINKED, **base, spotify_name=listening.display_name,
            top_artists=tuple(a.name for a in listening.artists[:10]),
            spotify_errors=tuple(collected.spotify_errors),
        )

    async def _after_ingest_failure(
        self, request: LinkRequest, tokens: Credentials, exc: SpotifyError
    ) -> LinkResult:
        """Keep what is worth keeping (a working link), and say what happens next."""
        errors = (spotify_error_status(exc),)
        user_id, guild_id = request.user_id, request.guild_id
        if isinstance(exc, SpotifyNotAllowlisted):
            await self._store(user_id, guild_id, None, accounts.NOT_ALLOWLISTED, str(exc))
            return LinkResult(accounts.NOT_ALLOWLISTED, user_id, guild_id, message=exc.member_message,
                              spotify_errors=errors)
        if isinstance(exc, SpotifyRateLimited | SpotifyUpstreamError):
            # The login works; only the profile has to wait for the scheduled refresh.
            if isinstance(exc, SpotifyRateLimited):
                await remember_rate_limit(self.pool, exc)
            await self._store(user_id, guild_id, tokens, notifications.LINKED, None)
            return LinkResult(
                PENDING, user_id, guild_id, request.member_name, message=exc.member_message,
                spotify_errors=errors,
                quota_exceeded=isinstance(exc, SpotifyRateLimited) and exc.quota_exceeded,
            )
        log.warning("Spotify refused member %s after the exchange: %s", user_id, exc)
        return LinkResult(SPOTIFY_FAILED, user_id, guild_id, message=exc.member_message,
                          spotify_errors=errors)

    async def _store(
        self, user_id: int, guild_id: int | None, tokens: Credentials | None, event: str,
        detail: str | None,
    ) -> None:
        """A link without a profile: working tokens (pending) or only the refusal."""
        async with self.pool.acquire() as conn, conn.transaction():
            if tokens is not None:
                await accounts.upsert_member(conn, user_id, guild_id)
                await accounts.store_link(conn, self.vault, user_id, SPOTIFY, tokens,
                                          external_id=None, external_name=None)
            else:
                await accounts.upsert_member(conn, user_id)
                await accounts.set_status(conn, user_id, SPOTIFY, accounts.NOT_ALLOWLISTED,
                                          detail, forget_tokens=True)
            await notifications.notify_link(
                conn, LinkEvent(user_id, guild_id, SPOTIFY, event, profile_ready=False)
            )
