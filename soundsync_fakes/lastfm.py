"""Fake Last.fm on loopback: the API root (``/2.0/``) and the web-auth page (``/api/auth/``).

Point the settings at it with :meth:`FakeLastfm.settings_overrides`::

    LASTFM_API_URL  = fake.url + "/2.0"
    LASTFM_AUTH_URL = fake.url + "/api/auth/"

Methods: ``auth.getSession`` (signed), ``user.getTopArtists``, ``user.getTopTracks``,
``artist.getTopTags``, by GET or form POST, ``format=json``. Every call checks the API key
(error 10); a call with ``sk`` or to ``auth.getSession`` must carry a valid ``api_sig``
(error 13) and a live session key (error 9). Errors answer ``{"error", "message", "links"}``
— with HTTP 200 for ``artist.getTopTags`` (as its documentation warns) and a 4xx/5xx status
otherwise, so a client must read the code, not the status. Faults (:meth:`set_mode`):
``rate_limited`` (29), ``offline`` (11), ``temporary`` (16), ``invalid_key`` (10),
``suspended_key`` (26), ``server_error`` (an HTML 503), each optionally for ``count`` calls.

The auth page lists the fake users; posting it with ``as_user`` (or :meth:`FakeLastfm.consent`)
redirects to ``cb`` with ``token=…`` as Last.fm does.
"""

from __future__ import annotations

import hashlib
import html
import secrets
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from soundsync_fakes.fakelog import LOGGED_REQUEST, FakeLog
from soundsync_fakes.lastfm_state import (
    FAULTS,
    FakeArtist,
    FakeLastfmUser,
    FakeTrack,
    LastfmError,
    LastfmState,
)
from soundsync_fakes.server import FakeServer

STATE: web.AppKey[LastfmState] = web.AppKey("lastfm_state", LastfmState)
_SECRET_FIELDS = ("api_key", "api_sig", "sk", "token")
_STATUS = {6: 404, 29: 429, 11: 503, 16: 503}
_UNSIGNED = ("format", "callback", "api_sig")

__all__ = ["FakeArtist", "FakeLastfm", "FakeTrack"]


def _signature(params: dict[str, str], secret: str) -> str:
    body = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in _UNSIGNED)
    return hashlib.md5((body + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def _error(method: str, exc: LastfmError) -> web.Response:
    status = 200 if method == "artist.getTopTags" else _STATUS.get(exc.code, 403)
    return web.json_response({"error": exc.code, "message": exc.message, "links": []}, status=status)


def _int(params: dict[str, str], name: str, default: int, cap: int) -> int:
    try:
        return max(1, min(cap, int(params.get(name, default))))
    except ValueError as exc:
        raise LastfmError(6, f"Invalid parameters - {name} must be a number") from exc


def _session_user(state: LastfmState, params: dict[str, str]) -> str | None:
    """Check ``api_sig`` (13) and ``sk`` (9) when the call is signed; the session's user."""
    signed = "sk" in params or params.get("method") == "auth.getSession"
    if not signed:
        return None
    if not secrets.compare_digest(params.get("api_sig", ""), _signature(params, state.api_secret)):
        raise LastfmError(13, "Invalid method signature supplied")
    if "sk" not in params:
        return None
    user = state.sessions.get(params["sk"])
    if user is None:
        raise LastfmError(9, "Invalid session key - Please re-authenticate")
    return user


def _dispatch(state: LastfmState, params: dict[str, str]) -> dict[str, Any]:
    if params.get("api_key") != state.api_key:
        raise LastfmError(10, "Invalid API key - You must be granted a valid key by last.fm")
    session_user = _session_user(state, params)
    method = params.get("method", "")
    if method == "auth.getSession":
        name, key = state.session_for(params.get("token", ""))
        return {"session": {"name": name, "key": key, "subscriber": 0}}
    if method in ("user.getTopArtists", "user.getTopTracks"):
        user = state.user(params.get("user", ""), session_user)
        period = params.get("period", "overall")
        limit, page = _int(params, "limit", 50, 1000), _int(params, "page", 1, 10_000)
        if method == "user.getTopArtists":
            return state.top_artists(user, period, limit, page)
        return state.top_tracks(user, period, limit, page)
    if method == "artist.getTopTags":
        return state.top_tags(params.get("artist"), params.get("mbid"))
    raise LastfmError(3, "Invalid Method - No method with that name in this package")


async def api(request: web.Request) -> web.Response:
    """``/2.0/``: one Last.fm method call (query string or form body)."""
    state = request.app[STATE]
    state.user_agents.add(request.headers.get("User-Agent", ""))
    params = {**request.query, **(await request.post())}
    params = {k: str(v) for k, v in params.items()}
    request[LOGGED_REQUEST] = {k: ("<redacted>" if k in _SECRET_FIELDS else v) for k, v in params.items()}
    method = params.get("method", "")
    fault = state.take_fault()
    if fault is not None:
        if FAULTS[fault] is None:
            return web.Response(status=503, text="<html><body>Service Unavailable</body></html>",
                                content_type="text/html")
        code, message = FAULTS[fault]
        return _error(method, LastfmError(code, message))
    try:
        return web.json_response(_dispatch(state, params))
    except LastfmError as exc:
        return _error(method, exc)


async def auth_page(request: web.Request) -> web.Response:
    """GET ``/api/auth/?api_key=…&cb=…``: the "allow access" page."""
    state = request.app[STATE]
    if request.query.get("api_key") != state.api_key:
        return web.Response(status=400, text="Invalid API key", content_type="text/html")
    options = "".join(f'<option value="{html.escape(u.name)}">{html.escape(u.name)}</option>'
                      for u in state.users.values())
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in request.query.items())
    page = ("<!doctype html><title>Last.fm (fake) – allow access</title>"
            f'<form method="post" action="/api/auth/">{hidden}'
            f'<label>Logged in as <select name="as_user">{options}</select></label>'
            '<button name="decision" value="approve">Yes, allow access</button></form>')
    return web.Response(text=page, content_type="text/html")


async def auth_decision(request: web.Request) -> web.Response:
    """POST ``/api/auth/``: the member allows access; back to ``cb`` with a token."""
    state = request.app[STATE]
    form = dict(await request.post())
    request[LOGGED_REQUEST] = {k: v for k, v in form.items() if k != "api_key"}
    if form.get("api_key") != state.api_key or not form.get("cb"):
        return web.Response(status=400, text="Invalid API key or callback", content_type="text/html")
    user = state.users.get(str(form.get("as_user", "")).lower())
    if user is None:
        return web.Response(status=400, text="Unknown user", content_type="text/html")
    token = state.issue_token(user.name)
    callback = str(form["cb"])
    separator = "&" if "?" in callback else "?"
    raise web.HTTPFound(f"{callback}{separator}token={token}")


@web.middleware
async def _exceptions_as_responses(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn raised redirects into plain responses so the fake log sees them."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return web.Response(status=exc.status, body=exc.body, headers=exc.headers)


def build_app(state: LastfmState, log_path: str | Path | None = None) -> web.Application:
    """The whole fake as one aiohttp application."""
    app = web.Application(middlewares=[FakeLog("lastfm", log_path).middleware(), _exceptions_as_responses])
    app[STATE] = state
    app.router.add_route("*", "/2.0/", api)
    app.router.add_get("/api/auth/", auth_page)
    app.router.add_post("/api/auth/", auth_decision)
    return app


class FakeLastfm(FakeServer):
    """Runner and seeding API of the fake; ``async with FakeLastfm() as fake: ...``."""

    def __init__(self, *, log_path: str | Path | None = None) -> None:
        super().__init__()
        self.state = LastfmState(api_key=secrets.token_hex(16), api_secret=secrets.token_hex(16))
        self._log_path = log_path

    def build_app(self) -> web.Application:
        """This fake's application (see :class:`FakeServer` for serving it)."""
        return build_app(self.state, self._log_path)

    @property
    def api_url(self) -> str:
        """The API root, as ``LASTFM_API_URL``."""
        return f"{self.url}/2.0"

    @property
    def auth_url(self) -> str:
        """The web-auth page, as ``LASTFM_AUTH_URL``."""
        return f"{self.url}/api/auth/"

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for ``load_settings`` that point SoundSync at this fake."""
        return {
            "lastfm_api_url": self.api_url,
            "lastfm_auth_url": self.auth_url,
            "lastfm_api_key": self.state.api_key,
            "lastfm_api_secret": self.state.api_secret,
        }

    def set_mode(self, fault: str | None, *, count: int | None = None) -> None:
        """Answer every call (or the next ``count``) with a fault; None = back to normal."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(FAULTS)}")
        self.state.fault, self.state.fault_count = fault, count

    def add_user(
        self, name: str, artists: Any = (), tracks: Any = (), *, private: bool = False
    ) -> FakeLastfmUser:
        """Add a user; ``artists``/``tracks``: one chart for all periods or ``{period: chart}``."""
        return self.state.add_user(name, artists, tracks, private=private)

    def add_tags(self, artist: str, tags: list[tuple[str, int]], *, mbid: str = "") -> None:
        """Give an artist its top tags (``(name, count)``, strongest first), by name and MBID."""
        self.state.tags[artist.lower()] = list(tags)
        if mbid:
            self.state.tags[mbid] = list(tags)

    def unauthorised_token(self) -> str:
        """A token the member never allowed (``auth.getSession`` → error 14)."""
        return self.state.issue_token(None)

    def expire_tokens(self) -> None:
        """Age every token past its hour (``auth.getSession`` → error 15)."""
        for grant in self.state.tokens.values():
            grant.expires_at = 0.0

    def revoke_sessions(self, user: str | None = None) -> None:
        """The member removes SoundSync's access: their session keys die (error 9)."""
        for key, owner in list(self.state.sessions.items()):
            if user is None or owner.lower() == user.lower():
                del self.state.sessions[key]

    async def consent(self, auth_page_url: str, user: str) -> str:
        """Allow access on the auth page as ``user`` over HTTP (as a browser would); returns
        the redirect ``Location`` (``cb?token=…``)."""
        async with aiohttp.ClientSession() as http:
            async with http.get(auth_page_url) as page:
                if page.status != 200:
                    raise RuntimeError(f"auth page: HTTP {page.status} {await page.text()}")
            form = {**dict(URL(auth_page_url).query), "as_user": user,
                    "decision": "approve"}
            async with http.post(f"{self.url}/api/auth/", data=form, allow_redirects=False) as answer:
                if answer.status != 302:
                    raise RuntimeError(f"consent failed: HTTP {answer.status} {await answer.text()}")
                return answer.headers["Location"]
