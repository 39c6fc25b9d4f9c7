"""A thin async Last.fm client on the shared aiohttp session (``format=json``).

Every call is a form POST to the API root (as Last.fm's own API docs allow for every method),
so no key, token or session key ever sits in a URL or a proxy log. Calls that carry a
session key, and ``auth.getSession``, are signed: ``api_sig`` is the md5 of the parameters
sorted by name and concatenated as ``name`` + ``value`` (``format`` and ``callback``
excluded), followed by the shared secret. Requests are spaced by a :class:`Pacer` (Last.fm
asks for no more than about five per second per originating IP); transient failures (error
8/11/16, 5xx, timeouts) are retried a couple of times with ``asyncio.sleep`` back-off.

Last.fm's JSON is converted XML: numbers are strings, attributes sit under ``@attr``, text
under ``#text``, and a list of one element may come as the element itself — :func:`as_list`
reads both.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from soundsync_core.sources.base import SourceRateLimited
from soundsync_core.sources.lastfm_errors import (
    RATE_LIMIT_BACKOFF,
    LastfmError,
    LastfmRateLimited,
    LastfmUnavailable,
    error_for,
)
from soundsync_core.sources.pacing import Pacer

# Last.fm asks for "a few" requests per second per originating IP; 5/s is the usual reading.
REQUESTS_PER_SECOND = 5.0
DEFAULT_TIMEOUT = 10.0
ATTEMPTS = 3
_UNSIGNED = frozenset({"format", "callback"})


def as_list(value: Any) -> list[Any]:
    """A Last.fm list field: a list, one element sent as itself, or nothing."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def as_int(value: Any) -> int | None:
    """A Last.fm number (sent as a string); None when absent or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def sign(params: Mapping[str, str], secret: str) -> str:
    """Last.fm's ``api_sig`` for ``params`` (see the module docstring)."""
    body = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in _UNSIGNED)
    return hashlib.md5((body + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def auth_page_url(auth_url: str, api_key: str, callback: str) -> str:
    """Where ``/link`` sends the member: Last.fm's page that asks them to allow SoundSync."""
    separator = "&" if "?" in auth_url else "?"
    return f"{auth_url}{separator}{urlencode({'api_key': api_key, 'cb': callback})}"


@dataclass(frozen=True)
class LastfmSession:
    """A member's Last.fm login: their username and a session key that never expires."""

    username: str
    key: str

    def __repr__(self) -> str:
        return f"LastfmSession(username={self.username!r})"


class LastfmClient:
    """Calls the Last.fm API for SoundSync; one per process (its pacer is per client)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        api_url: str,
        api_key: str,
        api_secret: str | None,
        user_agent: str,
        pacer: Pacer | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = ATTEMPTS,
        retry_delay: float = 0.5,
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/") + "/"
        self._key = api_key
        self._secret = api_secret
        self._headers = {"User-Agent": user_agent}
        self.pacer = pacer or Pacer(1.0 / REQUESTS_PER_SECOND, limited=LastfmRateLimited)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._retry_delay = retry_delay

    async def call(
        self, method: str, params: Mapping[str, Any], *, session_key: str | None = None,
        signed: bool = False,
    ) -> dict[str, Any]:
        """One API method's JSON answer; raises :class:`SourceError` subclasses only."""
        form = {k: str(v) for k, v in params.items() if v is not None}
        form.update(method=method, api_key=self._key)
        if session_key is not None:
            form["sk"] = session_key
        if signed or session_key is not None:
            if not self._secret:
                raise LastfmError(method, 0, "LASTFM_API_SECRET is not set")
            form["api_sig"] = sign(form, self._secret)
        form["format"] = "json"
        attempt = 1
        while True:
            try:
                return await self._post(method, form)
            except LastfmUnavailable:
                if attempt >= self._attempts:
                    raise
            await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
            attempt += 1

    async def _post(self, method: str, form: dict[str, str]) -> dict[str, Any]:
        await self.pacer.wait()
        try:
            async with self._http.post(
                self._url, data=form, headers=self._headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise LastfmUnavailable(method, 0, f"{type(exc).__name__} talking to Last.fm") from None
        return self._answer(method, status, text)

    def _answer(self, method: str, status: int, text: str) -> dict[str, Any]:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and "error" in body:
            code = as_int(body["error"]) or 0
            error = error_for(method, code, str(body.get("message", "")))
            if isinstance(error, SourceRateLimited):
                # Every later call of this client fails fast until the back-off is over.
                self.pacer.hold(RATE_LIMIT_BACKOFF)
            raise error
        if status >= 500 or status == 429:
            raise LastfmUnavailable(method, 0, f"HTTP {status}")
        if status >= 400 or not isinstance(body, dict):
            raise LastfmError(method, 0, f"HTTP {status}: not a Last.fm JSON answer")
        return body

    # --- the methods SoundSync uses --------------------------------------------------------

    async def get_session(self, token: str) -> LastfmSession:
        """``auth.getSession`` (signed): the token from the auth page → username + session key."""
        body = await self.call("auth.getSession", {"token": token}, signed=True)
        session = body.get("session")
        if not isinstance(session, dict) or not session.get("key") or not session.get("name"):
            raise LastfmError("auth.getSession", 0, "answer without a session")
        return LastfmSession(username=str(session["name"]), key=str(session["key"]))

    async def top_artists(
        self, user: str, period: str, limit: int, *, session_key: str | None = None
    ) -> list[dict[str, Any]]:
        """``user.getTopArtists``: the raw artist objects, best first."""
        body = await self.call(
            "user.getTopArtists", {"user": user, "period": period, "limit": limit},
            session_key=session_key,
        )
        return _items(body, "topartists", "artist")

    async def top_tracks(
        self, user: str, period: str, limit: int, *, session_key: str | None = None
    ) -> list[dict[str, Any]]:
        """``user.getTopTracks``: the raw track objects, best first."""
        body = await self.call(
            "user.getTopTracks", {"user": user, "period": period, "limit": limit},
            session_key=session_key,
        )
        return _items(body, "toptracks", "track")

    async def artist_top_tags(self, name: str, mbid: str | None = None) -> list[dict[str, Any]]:
        """``artist.getTopTags`` by MBID when known (names are ambiguous), else by name.

        An artist Last.fm does not know (error 6) simply has no tags.
        """
        params = {"mbid": mbid} if mbid else {"artist": name, "autocorrect": 1}
        try:
            body = await self.call("artist.getTopTags", params)
        except LastfmError as exc:
            if exc.code == 6 and mbid:
                return await self.artist_top_tags(name)
            if exc.code == 6:
                return []
            raise
        return _items(body, "toptags", "tag")


def _items(body: dict[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    container = body.get(outer)
    if not isinstance(container, dict):
        raise LastfmError(outer, 0, "answer without the expected list")
    return [item for item in as_list(container.get(inner)) if isinstance(item, dict)]
