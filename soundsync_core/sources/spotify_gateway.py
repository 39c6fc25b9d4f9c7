"""The async face of the Spotify source: every spotipy call in a worker, retries that are ours.

Blocking calls run in the gateway's ``executor``: None means the event loop's thread pool; the
web server passes a process pool, so that spotipy's parsing (and its garbage) never competes
with the event loop for the GIL. Everything sent to a worker is therefore picklable: module
functions, plain arguments and a :class:`ClientSpec` instead of a client object.

* 429 with a short ``Retry-After`` (≤ ``short_wait``): pause, ``asyncio.sleep``, retry — the
  event loop keeps serving everything else meanwhile.
* 429 with a long ``Retry-After``: raise :class:`SpotifyRateLimited` so the caller schedules.
* ``QUOTA_EXCEEDED``: raise at once so the admin can be told.
* Spotify's limits are per app, so every 429 closes the process-wide :class:`PauseGate`:
  calls for other members wait (short) or raise (long) without hitting Spotify.
* 5xx / connection errors: bounded retries with exponential backoff, then
  :class:`SpotifyUpstreamError`.
* 401: the member session refreshes once (and tells its ``on_refresh`` hook), then retries.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import spotipy

from soundsync_core.settings import Settings
from soundsync_core.sources import spotify_auth
from soundsync_core.sources.audio_features import (
    AudioFeaturesResult,
    FeatureMap,
    ReccoBeatsClient,
    audio_features_chain,
    spotify_features_batch,
)
from soundsync_core.sources.base import Credentials
from soundsync_core.sources.errors import (
    SpotifyRateLimited,
    SpotifyUnauthorized,
    SpotifyUpstreamError,
)
from soundsync_core.sources.spotify import (
    TOP_LIMIT,
    SpotifyListening,
    fetch_listening,
    thread_client,
)
from soundsync_core.sources.spotify_auth import AuthorizationRequest

log = logging.getLogger(__name__)
T = TypeVar("T")
TokensHook = Callable[[Credentials], Awaitable[None]]
MAX_SHORT_WAITS = 3
REFRESH_MARGIN = 60.0


class PauseGate:
    """When Spotify said 429, nobody in this process calls it until ``Retry-After`` passed."""

    def __init__(self) -> None:
        self._until = 0.0
        self._quota = False

    def pause(self, seconds: float, quota_exceeded: bool) -> None:
        """Close the gate for ``seconds`` (a longer pause already in force is kept)."""
        until = time.monotonic() + seconds
        if until >= self._until:
            self._until, self._quota = until, quota_exceeded

    def remaining(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        return max(0.0, self._until - time.monotonic())

    async def wait(self, max_wait: float) -> None:
        """Sleep through a short pause; raise :class:`SpotifyRateLimited` for a long one."""
        while (left := self.remaining()) > 0:
            if left > max_wait:
                raise SpotifyRateLimited(left, self._quota)
            await asyncio.sleep(left)


# One gate per process: the limit and the quota belong to the app, not to a member.
PROCESS_PAUSE_GATE = PauseGate()


def _guarded(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """Runs in the worker; a network failure becomes an upstream error (no URL, no token)."""
    try:
        return fn(*args, **kwargs)
    except requests.RequestException as exc:
        raise SpotifyUpstreamError(f"connection to Spotify failed: {type(exc).__name__}") from None


@dataclass(frozen=True)
class ClientSpec:
    """What a worker needs to build a member's spotipy client (the token is never printed)."""

    api_url: str
    access_token: str = field(repr=False)
    timeout: float


def _on_client(spec: ClientSpec, fn: Callable[..., T], *args: Any) -> T:
    """Runs in the worker: ``fn(client, *args)`` with a client built there."""
    return fn(thread_client(spec.api_url, spec.access_token, timeout=spec.timeout), *args)


def warm_worker() -> None:
    """Submitted once per worker process at start-up: unpickling it imports this module there."""


def worker_initializer() -> None:
    """Worker processes leave Ctrl-C to their parent, which shuts them down in order.

    A terminal's SIGINT reaches the whole process group; without this every worker printed a
    KeyboardInterrupt traceback of its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _me(client: spotipy.Spotify) -> dict[str, Any]:
    return client.me()


def _top_artists(client: spotipy.Spotify, time_range: str) -> dict[str, Any]:
    return client.current_user_top_artists(limit=TOP_LIMIT, time_range=time_range)


def _top_tracks(client: spotipy.Spotify, time_range: str) -> dict[str, Any]:
    return client.current_user_top_tracks(limit=TOP_LIMIT, time_range=time_range)


def _artist(client: spotipy.Spotify, artist_id: str) -> dict[str, Any]:
    return client.artist(artist_id)


class SpotifyGateway:
    """Process-wide entry point to Spotify for the web app, the bot and the scheduler."""

    def __init__(
        self,
        settings: Settings,
        *,
        gate: PauseGate | None = None,
        short_wait: float = 30.0,
        server_retries: int = 3,
        backoff: float = 0.5,
        timeout: float = spotify_auth.DEFAULT_TIMEOUT,
        audio_features_forbidden: bool = False,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.executor = executor
        self.gate = gate or PROCESS_PAUSE_GATE
        self.short_wait = short_wait
        self.server_retries = server_retries
        self.backoff = backoff
        self.timeout = timeout
        # Remembered answers about this app (the caller may persist and restore them).
        self.audio_features_forbidden = audio_features_forbidden
        self.genre_lookup_works = True
        self.reccobeats = ReccoBeatsClient(
            str(settings.reccobeats_api_url), timeout=timeout, short_wait=short_wait,
            executor=executor,
        )

    async def run(
        self, fn: Callable[..., T], *args: Any, gated: bool = True, **kwargs: Any
    ) -> T:
        """Call blocking ``fn`` in the executor with the gate, 429 waits and 5xx retries."""
        failures = waits = 0
        loop = asyncio.get_running_loop()
        while True:
            if gated:
                await self.gate.wait(self.short_wait)
            try:
                return await loop.run_in_executor(self.executor, _guarded, fn, args, kwargs)
            except SpotifyRateLimited as exc:
                waits += 1
                await self._after_rate_limit(exc, waits, gated)
            except SpotifyUpstreamError as exc:
                failures += 1
                if failures > self.server_retries:
                    raise
                log.info("Spotify %s; retry %d/%d", exc, failures, self.server_retries)
                await asyncio.sleep(self.backoff * 2 ** (failures - 1))

    async def _after_rate_limit(self, exc: SpotifyRateLimited, waits: int, gated: bool) -> None:
        """Close the gate (Web API only), then raise or let the caller's loop wait and retry."""
        if gated:
            self.gate.pause(exc.retry_after, exc.quota_exceeded)
        if exc.quota_exceeded:
            log.error("Spotify quota exceeded: all calls paused for %.0f s", exc.retry_after)
            raise exc
        if exc.retry_after > self.short_wait or waits > MAX_SHORT_WAITS:
            raise exc
        log.info("Spotify rate limited: waiting %.1f s", exc.retry_after)
        if not gated:
            # The accounts service has its own limit: wait here instead of at the gate.
            await asyncio.sleep(exc.retry_after)

    # --- OAuth -----------------------------------------------------------------------------

    def authorization_request(
        self, state: str, *, show_dialog: bool = False
    ) -> AuthorizationRequest:
        """Authorize URL + PKCE verifier for one link attempt (no network)."""
        return spotify_auth.authorization_request(self.settings, state, show_dialog=show_dialog)

    async def exchange_code(self, code: str, code_verifier: str) -> Credentials:
        """Callback code → tokens. The accounts service is not behind the Web API's gate."""
        return await self.run(
            spotify_auth.exchange_code, self.settings, code, code_verifier,
            timeout=self.timeout, gated=False,
        )

    async def refresh(self, tokens: Credentials) -> Credentials:
        """Fresh access token; raises ``SpotifyTokenExpired`` when the member must relink."""
        return await self.run(
            spotify_auth.refresh_tokens, self.settings, tokens, timeout=self.timeout, gated=False
        )

    def for_member(
        self, tokens: Credentials, on_refresh: TokensHook | None = None
    ) -> SpotifyMemberSession:
        """A session for one member's Web API calls; ``on_refresh`` persists new tokens."""
        return SpotifyMemberSession(self, tokens, on_refresh)


class SpotifyMemberSession:
    """One member's Web API calls: refresh on expiry or 401 (once), gate, retries."""

    def __init__(
        self, gateway: SpotifyGateway, tokens: Credentials, on_refresh: TokensHook | None
    ) -> None:
        self._gateway = gateway
        self._tokens = tokens
        self._on_refresh = on_refresh
        self._refresh_lock = asyncio.Lock()

    @property
    def tokens(self) -> Credentials:
        """The current tokens (they change after a refresh)."""
        return self._tokens

    def _spec(self) -> ClientSpec:
        return ClientSpec(str(self._gateway.settings.spotify_api_url), self._tokens.access_token,
                          self._gateway.timeout)

    async def _refresh_unless_done(self, stale_access_token: str) -> None:
        # Concurrent calls may all see the same 401: only the first one refreshes.
        async with self._refresh_lock:
            if self._tokens.access_token != stale_access_token:
                return
            self._tokens = await self._gateway.refresh(self._tokens)
            if self._on_refresh is not None:
                await self._on_refresh(self._tokens)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(client, *args)`` in a worker; on 401 refresh once and try again.

        ``fn`` must be a module-level function (it may be sent to a worker process).
        """
        if self._tokens.expires_within(REFRESH_MARGIN):
            await self._refresh_unless_done(self._tokens.access_token)
        used = self._tokens.access_token
        try:
            return await self._gateway.run(_on_client, self._spec(), fn, *args)
        except SpotifyUnauthorized:
            await self._refresh_unless_done(used)
            return await self._gateway.run(_on_client, self._spec(), fn, *args)

    async def me(self) -> dict[str, Any]:
        """``GET /me``."""
        return await self.call(_me)

    async def top_artists(self, time_range: str) -> dict[str, Any]:
        """``GET /me/top/artists`` (50 items) for one time range."""
        return await self.call(_top_artists, time_range)

    async def top_tracks(self, time_range: str) -> dict[str, Any]:
        """``GET /me/top/tracks`` (50 items) for one time range."""
        return await self.call(_top_tracks, time_range)

    async def artist(self, artist_id: str) -> dict[str, Any]:
        """``GET /artists/{id}`` (the batch endpoint is gone for development-mode apps)."""
        return await self.call(_artist, artist_id)

    async def fetch_listening(
        self, genre_cache: MutableMapping[str, tuple[str, ...]]
    ) -> SpotifyListening:
        """The member's merged top artists and tracks (see ``spotify.fetch_listening``)."""
        listening = await fetch_listening(
            self, genre_cache, lookup_genres=self._gateway.genre_lookup_works
        )
        self._gateway.genre_lookup_works = listening.genres_available
        return listening

    async def _spotify_features(self, ids: list[str]) -> FeatureMap:
        return await self.call(spotify_features_batch, ids)

    async def audio_features(self, track_ids: Sequence[str]) -> AudioFeaturesResult:
        """Spotify's audio features, else ReccoBeats'; a 403 is remembered on the gateway."""
        gateway = self._gateway
        spotify = None if gateway.audio_features_forbidden else self._spotify_features
        result = await audio_features_chain(track_ids, spotify, gateway.reccobeats)
        if result.spotify_forbidden:
            gateway.audio_features_forbidden = True
        return result
