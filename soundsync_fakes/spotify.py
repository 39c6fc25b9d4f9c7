"""Fake Spotify (accounts + Web API) and fake ReccoBeats on loopback, state in memory.

One aiohttp server answers everything; point the settings at it with
:meth:`FakeSpotify.settings_overrides`::

    SPOTIFY_ACCOUNTS_URL = fake.url                     (/authorize, /api/token)
    SPOTIFY_API_URL      = fake.url + "/v1"
    RECCOBEATS_API_URL   = fake.url + "/reccobeats/v1"  (/audio-features)

Modes (constructor or :meth:`FakeSpotify.set_mode` at run time): ``full``, ``development``
(5-user allowlist, no audio features, no genres/popularity/followers), and faults stacked on
top: ``rate_limited`` / ``quota_exceeded`` (429 with ``Retry-After``), ``server_error`` (5xx),
each optionally for the next ``count`` requests only, and ``expired_refresh`` (refresh →
``invalid_grant``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from soundsync_fakes.fakelog import FakeLog
from soundsync_fakes.server import FakeServer
from soundsync_fakes.spotify_accounts import (
    STATE_KEY,
    authorize_decision,
    authorize_page,
    token,
)
from soundsync_fakes.spotify_api import reccobeats_app, v1_app
from soundsync_fakes.spotify_catalog import Catalog, FakeUser
from soundsync_fakes.spotify_state import AppRegistration, SpotifyState

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8080/callback"


@web.middleware
async def _exceptions_as_responses(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn raised HTTP errors/redirects into plain responses so the fake log sees them."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return web.Response(status=exc.status, body=exc.body, headers=exc.headers)


def _log_middleware(log_path: str | Path | None) -> Any:
    """One log file, two services: ReccoBeats requests are logged as ``reccobeats``."""
    spotify_log = FakeLog("spotify", log_path).middleware()
    reccobeats_log = FakeLog("reccobeats", log_path).middleware()

    @web.middleware
    async def log_by_service(request: web.Request, handler: Any) -> web.StreamResponse:
        chosen = reccobeats_log if request.path.startswith("/reccobeats/") else spotify_log
        return await chosen(request, handler)

    return log_by_service


def build_app(state: SpotifyState, log_path: str | Path | None = None) -> web.Application:
    """The whole fake as one aiohttp application (tests may mount it themselves)."""
    app = web.Application(middlewares=[_log_middleware(log_path), _exceptions_as_responses])
    app[STATE_KEY] = state
    app.router.add_get("/authorize", authorize_page)
    app.router.add_post("/authorize", authorize_decision)
    app.router.add_post("/api/token", token)
    app.add_subapp("/v1", v1_app(state))
    app.add_subapp("/reccobeats/v1", reccobeats_app(state))
    return app


class FakeSpotify(FakeServer):
    """Runner and seeding API of the fake; ``async with FakeSpotify() as fake: ...``."""

    def __init__(
        self,
        *,
        mode: str = "full",
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        log_path: str | Path | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        app = AppRegistration(
            client_id=client_id or secrets.token_hex(16),
            client_secret=client_secret or secrets.token_hex(16),
            redirect_uri=redirect_uri,
        )
        self.catalog = Catalog(seed)
        self.state = SpotifyState(self.catalog, app, mode)
        self._log_path = log_path

    # --- lifecycle -----------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """This fake's application (see :class:`FakeServer` for serving it)."""
        return build_app(self.state, self._log_path)

    # --- configuration -------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        """The registered app's client id."""
        return self.state.app.client_id

    @property
    def client_secret(self) -> str:
        """The registered app's client secret (generated at run time)."""
        return self.state.app.client_secret

    @property
    def redirect_uri(self) -> str:
        """The one redirect URI the app accepts, byte for byte."""
        return self.state.app.redirect_uri

    @redirect_uri.setter
    def redirect_uri(self, value: str) -> None:
        self.state.app.redirect_uri = value

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for ``load_settings`` that point SoundSync at this fake."""
        return {
            "spotify_accounts_url": self.url,
            "spotify_api_url": f"{self.url}/v1",
            "reccobeats_api_url": f"{self.url}/reccobeats/v1",
            "spotify_client_id": self.client_id,
            "spotify_client_secret": self.client_secret,
            "spotify_redirect_uri": self.redirect_uri,
        }

    @property
    def mode(self) -> str:
        """The active mode (a fault when one is active, else the tier)."""
        return self.state.mode

    def set_mode(
        self, mode: str, *, retry_after: int | None = None, count: int | None = None
    ) -> None:
        """Change mode at run time; ``count`` limits a fault to the next N /v1 requests."""
        self.state.set_mode(mode, retry_after=retry_after, count=count)

    @property
    def refresh_omits_token(self) -> bool:
        """When True, refresh answers leave ``refresh_token`` out (the old one stays valid)."""
        return self.state.refresh_omits_token

    @refresh_omits_token.setter
    def refresh_omits_token(self, value: bool) -> None:
        self.state.refresh_omits_token = value

    async def consent(self, authorize_url: str, user_id: str, *, approve: bool = True) -> str:
        """Answer the consent page of ``authorize_url`` as ``user_id`` over HTTP (as a browser
        would); returns the redirect ``Location`` (``…?code=…&state=…`` or ``…?error=…``)."""
        async with aiohttp.ClientSession() as http, http.post(
            authorize_url,
            data={"decision": "approve" if approve else "deny", "as_user": user_id},
            allow_redirects=False,
        ) as response:
            if response.status != 302:
                detail = await response.text()
                raise RuntimeError(f"consent failed: HTTP {response.status} {detail}")
            return response.headers["Location"]

    # --- seeding -------------------------------------------------------------------------

    def add_artist(self, name: str, genres: list[str] | tuple[str, ...] | None = None) -> str:
        """Add an artist; returns its generated 22-character id."""
        return self.catalog.add_artist(name, genres)

    def add_track(
        self, name: str, artist_ids: list[str], features: dict[str, float] | None = None,
        *, known: bool = True, in_reccobeats: bool = True,
    ) -> str:
        """Add a track; ``known=False`` = no provider has its audio features."""
        return self.catalog.add_track(
            name, artist_ids, features, known=known, in_reccobeats=in_reccobeats
        )

    def add_user(
        self, user_id: str, display_name: str,
        top_artists: list[str] | dict[str, list[str]] | None = None,
        top_tracks: list[str] | dict[str, list[str]] | None = None,
        *, allowlisted: bool = False,
    ) -> FakeUser:
        """Add a user (the first one is the consent page's default)."""
        user = self.catalog.add_user(user_id, display_name, top_artists, top_tracks)
        self.state.default_user = self.state.default_user or user_id
        if allowlisted:
            self.state.allowlist(user_id)
        return user

    def seed_user(self, user_id: str, display_name: str, **kwargs: Any) -> FakeUser:
        """Add a user with generated artists, tracks and features (see ``Catalog.seed_user``)."""
        allowlisted = kwargs.pop("allowlisted", False)
        user = self.catalog.seed_user(user_id, display_name, **kwargs)
        self.state.default_user = self.state.default_user or user_id
        if allowlisted:
            self.state.allowlist(user_id)
        return user

    def allowlist(self, user_id: str) -> None:
        """Put a user on the development-mode allowlist (at most five)."""
        self.state.allowlist(user_id)

    def expire_access_tokens(self, user_id: str | None = None) -> None:
        """Expire issued access tokens: the next /v1 call gets 401 "The access token expired"."""
        self.state.tokens.expire_access_tokens(user_id)

    def expire_refresh_tokens(self, user_id: str | None = None) -> None:
        """Age refresh tokens past six months: the next refresh gets ``invalid_grant``."""
        self.state.tokens.expire_refresh_tokens(user_id)
