"""Fake Spotify accounts service: ``/authorize`` (consent page) and ``/api/token``.

Authorization code flow with optional PKCE (S256). The consent page lists the fake users; its
form posts back to ``/authorize`` with ``decision=approve|deny`` and ``as_user``, which answers
302 to ``redirect_uri?code=…&state=…`` or ``redirect_uri?error=access_denied&state=…``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from soundsync_fakes.fakelog import LOGGED_REQUEST
from soundsync_fakes.spotify_state import REFRESH_TOKEN_SECONDS, SpotifyState, TokenGrant

STATE_KEY: web.AppKey[SpotifyState] = web.AppKey("spotify_state", SpotifyState)
_SECRET_FIELDS = ("client_secret", "code", "code_verifier", "refresh_token")


def _redirect(redirect_uri: str, **params: str) -> web.HTTPFound:
    separator = "&" if "?" in redirect_uri else "?"
    clean = {k: v for k, v in params.items() if v}
    return web.HTTPFound(redirect_uri + separator + urlencode(clean))


def _check_client(state: SpotifyState, params: Any) -> None:
    """Spotify answers a bad client or redirect URI with a 400 page, never a redirect."""
    if params.get("client_id") != state.app.client_id:
        raise web.HTTPBadRequest(text="INVALID_CLIENT: Invalid client")
    if params.get("redirect_uri") != state.app.redirect_uri:
        raise web.HTTPBadRequest(text="INVALID_CLIENT: Invalid redirect URI")


def _consent_page(state: SpotifyState, query: Any) -> str:
    options = "".join(
        f'<option value="{html.escape(u.id)}">{html.escape(u.display_name)}</option>'
        for u in state.catalog.users.values()
    )
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in query.items()
        if k != "as_user"
    )
    return (
        "<!doctype html><title>Spotify (fake) – authorise</title>"
        # Phone-sized browsers (the browser test at 390 px): no sideways scrolling, even for
        # the 32-character client id in the heading.
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        "<style>body{font-family:sans-serif;overflow-wrap:anywhere}</style>"
        f"<h1>Connect to {html.escape(state.app.client_id)}</h1>"
        f"<p>Scopes: {html.escape(query.get('scope', ''))}</p>"
        f'<form method="post" action="/authorize">{hidden}'
        f'<label>Log in as <select name="as_user">{options}</select></label>'
        '<button name="decision" value="approve">Agree</button>'
        '<button name="decision" value="deny">Cancel</button></form>'
    )


async def authorize_page(request: web.Request) -> web.Response:
    """GET /authorize: validate the client, then show the consent page."""
    state = request.app[STATE_KEY]
    query = request.query
    _check_client(state, query)
    if query.get("response_type") != "code":
        raise _redirect(query["redirect_uri"], error="unsupported_response_type",
                        state=query.get("state", ""))
    if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
        raise _redirect(query["redirect_uri"], error="invalid_request",
                        state=query.get("state", ""))
    return web.Response(text=_consent_page(state, query), content_type="text/html")


async def authorize_decision(request: web.Request) -> web.Response:
    """POST /authorize: the consent form (or a test) approves or denies."""
    state = request.app[STATE_KEY]
    form = dict(await request.post())
    params = {**request.query, **form}
    _check_client(state, params)
    request[LOGGED_REQUEST] = {k: v for k, v in params.items() if k != "code_challenge"}
    redirect_uri, client_state = str(params["redirect_uri"]), str(params.get("state", ""))
    if params.get("decision") != "approve":
        raise _redirect(redirect_uri, error="access_denied", state=client_state)
    user_id = str(params.get("as_user") or state.default_user or "")
    if user_id not in state.catalog.users:
        raise web.HTTPBadRequest(text=f"no such fake user: {user_id!r}")
    code = state.tokens.issue_code(
        user_id, redirect_uri, str(params.get("scope", "")),
        str(params.get("code_challenge") or "") or None,
    )
    raise _redirect(redirect_uri, code=code, state=client_state)


# --- token endpoint --------------------------------------------------------------------------


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.response = _oauth_error(status, error, description)


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _authenticate(state: SpotifyState, request: web.Request, form: Any) -> bool:
    """Basic auth (confidential client) → True; a bare ``client_id`` (PKCE client) → False."""
    basic = _basic_credentials(request)
    if basic is not None:
        ok_id = basic[0] == state.app.client_id
        if not (ok_id and hmac.compare_digest(basic[1], state.app.client_secret)):
            raise _OAuthError(401, "invalid_client", "Invalid client")
        return True
    if form.get("client_id") != state.app.client_id:
        raise _OAuthError(401, "invalid_client", "Invalid client")
    return False


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _redeem_code(state: SpotifyState, form: Any, confidential: bool) -> tuple[str, str]:
    grant = state.tokens.codes.get(str(form.get("code", "")))
    if grant is None or grant.expires_at < time.time():
        raise _OAuthError(400, "invalid_grant", "Invalid authorization code")
    if grant.used:
        raise _OAuthError(400, "invalid_grant", "Authorization code already used")
    grant.used = True
    if form.get("redirect_uri") != grant.redirect_uri:
        raise _OAuthError(400, "invalid_grant", "Invalid redirect URI")
    if grant.code_challenge is not None:
        verifier = str(form.get("code_verifier", ""))
        if not hmac.compare_digest(_s256(verifier), grant.code_challenge):
            raise _OAuthError(400, "invalid_grant", "code_verifier was incorrect")
    elif not confidential:
        raise _OAuthError(400, "invalid_request", "code_verifier required")
    return grant.user_id, grant.scope


def _token_answer(state: SpotifyState, user_id: str, scope: str, refresh: str | None) -> Any:
    body: dict[str, Any] = {
        "access_token": state.tokens.issue_access(user_id, scope),
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": 3600,
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return body


def _authorization_code(state: SpotifyState, form: Any, confidential: bool) -> Any:
    user_id, scope = _redeem_code(state, form, confidential)
    refresh = state.tokens.issue_refresh(user_id, scope, time.time() + REFRESH_TOKEN_SECONDS)
    return _token_answer(state, user_id, scope, refresh)


def _refresh(state: SpotifyState, form: Any) -> Any:
    token = str(form.get("refresh_token", ""))
    grant: TokenGrant | None = state.tokens.refresh.get(token)
    if grant is None:
        raise _OAuthError(400, "invalid_grant", "Invalid refresh token")
    if state.expired_refresh or grant.expires_at < time.time():
        raise _OAuthError(400, "invalid_grant", "Refresh token revoked")
    if state.refresh_omits_token:
        return _token_answer(state, grant.user_id, grant.scope, None)
    # A new refresh token replaces the old one but keeps the original six-month deadline.
    del state.tokens.refresh[token]
    rotated = state.tokens.issue_refresh(grant.user_id, grant.scope, grant.expires_at)
    return _token_answer(state, grant.user_id, grant.scope, rotated)


async def token(request: web.Request) -> web.Response:
    """POST /api/token: authorization_code and refresh_token grants."""
    state = request.app[STATE_KEY]
    form = await request.post()
    request[LOGGED_REQUEST] = {
        k: ("<redacted>" if k in _SECRET_FIELDS else v) for k, v in form.items()
    }
    try:
        confidential = _authenticate(state, request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            body = _authorization_code(state, form, confidential)
        elif grant_type == "refresh_token":
            body = _refresh(state, form)
        else:
            raise _OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
    except _OAuthError as exc:
        return exc.response
    return web.json_response(body)
