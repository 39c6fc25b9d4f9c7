"""Spotify OAuth: authorize URL with PKCE (S256), code exchange and refresh, over spotipy.

Why :class:`spotipy.SpotifyPKCE` and not :class:`spotipy.SpotifyOAuth`: spotipy's confidential
client (``SpotifyOAuth``, Basic auth with the secret) cannot send a ``code_verifier``, and its
PKCE client cannot send the secret. Spotify's PKCE flow needs only ``client_id`` +
``code_verifier`` for the exchange and ``client_id`` for the refresh, so PKCE alone gives us
the protection we want (a stolen code is useless without the verifier we keep server-side)
without hand-written HTTP, and the client secret never has to travel for user tokens.

These functions block (requests): the async layer runs them in a thread.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from soundsync_core.settings import Settings
from soundsync_core.sources.base import Credentials
from soundsync_core.sources.errors import SpotifyTokenExpired, http_session

SCOPE = "user-top-read"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the member, and the verifier to keep (server-side) until the callback."""

    url: str
    code_verifier: str = field(repr=False)


def new_code_verifier() -> str:
    """A PKCE verifier: 86 URL-safe characters (RFC 7636 allows 43–128)."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of a verifier (base64url of its SHA-256, no padding)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _accounts_base(settings: Settings) -> str:
    return str(settings.spotify_accounts_url).rstrip("/")


def _pkce(settings: Settings, verifier: str | None, timeout: float) -> spotipy.SpotifyPKCE:
    settings.require("spotify_client_id")
    auth = spotipy.SpotifyPKCE(
        client_id=settings.spotify_client_id,
        redirect_uri=settings.redirect_uri,
        scope=SCOPE,
        cache_handler=MemoryCacheHandler(),
        open_browser=False,
        requests_session=http_session(),
        requests_timeout=timeout,
    )
    # Instance attributes win over spotipy's class constants: the fakes and tests rely on it.
    auth.OAUTH_AUTHORIZE_URL = f"{_accounts_base(settings)}/authorize"
    auth.OAUTH_TOKEN_URL = f"{_accounts_base(settings)}/api/token"
    if verifier is not None:
        auth.code_verifier = verifier
        auth.code_challenge = code_challenge(verifier)
    return auth


def authorization_request(
    settings: Settings, state: str, *, show_dialog: bool = False
) -> AuthorizationRequest:
    """Build the authorize URL (``user-top-read``, PKCE S256) for one link attempt."""
    verifier = new_code_verifier()
    url = _pkce(settings, verifier, DEFAULT_TIMEOUT).get_authorize_url(state=state)
    if show_dialog:
        url += "&" + urlencode({"show_dialog": "true"})
    return AuthorizationRequest(url=url, code_verifier=verifier)


def _tokens(info: dict[str, Any], previous_refresh: str | None = None) -> Credentials:
    return Credentials(
        access_token=info["access_token"],
        # A refresh answer may leave refresh_token out: the old one stays valid.
        refresh_token=info.get("refresh_token") or previous_refresh or "",
        expires_at=float(info["expires_at"]),
        scope=str(info.get("scope") or ""),
    )


def exchange_code(
    settings: Settings, code: str, code_verifier: str, *, timeout: float = DEFAULT_TIMEOUT
) -> Credentials:
    """Trade the callback's code (and our verifier) for tokens. Blocks."""
    auth = _pkce(settings, code_verifier, timeout)
    auth.get_access_token(code=code, check_cache=False)
    return _tokens(auth.cache_handler.get_cached_token())


def refresh_tokens(
    settings: Settings, tokens: Credentials, *, timeout: float = DEFAULT_TIMEOUT
) -> Credentials:
    """New access token from the refresh token; ``SpotifyTokenExpired`` means relink. Blocks."""
    if not tokens.refresh_token:
        raise SpotifyTokenExpired("no refresh token stored")
    info = _pkce(settings, None, timeout).refresh_access_token(tokens.refresh_token)
    return _tokens(info, tokens.refresh_token)
