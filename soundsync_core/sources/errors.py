"""What can go wrong talking to Spotify and ReccoBeats, as exceptions the callers can act on.

Every error answer is classified by :func:`classify_response` inside a ``requests`` response
hook (:func:`http_session`), before spotipy parses it. That keeps ``Retry-After`` and the
``reason`` of a 429, and sidesteps spotipy's ``AttributeError`` on a 403 whose body is not a
JSON error object (Spotify sends such 403s, often with no body at all, on ``/audio-features``).
Messages carry the HTTP status, the path and Spotify's message — never a token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import requests

from soundsync_core.sources.base import (
    SourceAccessDenied,
    SourceError,
    SourceLinkExpired,
    SourceRateLimited,
    SourceUnavailable,
)

NOT_ALLOWLISTED_MESSAGE = "User not registered in the Developer Dashboard"
_DEFAULT_RETRY_AFTER = 5.0


class SpotifyError(SourceError):
    """Base class; ``str(exc)`` is safe to log and ``member_message`` safe to show.

    The classes below also derive from the source protocol's error that says what to do next
    (wait, relink, try again later), which is all that ingestion and the refresh look at.
    """

    service = "Spotify"
    member_message = "Spotify could not be reached just now. Please try again later."


class SpotifyRateLimited(SpotifyError, SourceRateLimited):  # noqa: N818 (name agreed with callers)
    """429: wait ``retry_after`` seconds; ``quota_exceeded`` = the app's quota is used up."""

    member_message = "Spotify asked us to slow down. Your profile will be refreshed later."


class SpotifyNotAllowlisted(SpotifyError, SourceAccessDenied):  # noqa: N818 (name agreed with callers)
    """403 for a member who is not on the development-mode app's allowlist."""

    member_message = (
        "Spotify refused access: this bot's Spotify app is in development mode, which only "
        "works for users on its allowlist (at most 5). Ask the bot owner to add your Spotify "
        "account in the Spotify Developer Dashboard, or link another source "
        "(Last.fm, ListenBrainz or a Spotify data export)."
    )


class SpotifyTokenExpired(SpotifyError, SourceLinkExpired):  # noqa: N818 (name agreed with callers)
    """``invalid_grant``: the refresh token is dead (revoked or past six months) — relink."""

    member_message = "Your Spotify link has expired. Please run /link again."


class SpotifyUnauthorized(SpotifyError, SourceLinkExpired):  # noqa: N818 (name agreed with callers)
    """401 on the Web API: the access token is expired or unknown (refresh, then retry once)."""

    member_message = "Spotify did not accept the stored login. Please run /link again."


class SpotifyUpstreamError(SpotifyError, SourceUnavailable):
    """5xx or a connection failure, after our bounded retries."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.status)


class AudioFeaturesForbidden(SpotifyError):  # noqa: N818 (name agreed with callers)
    """403 on ``/audio-features``: this app has no access (closed to new apps since 2024-11)."""


class SpotifyForbidden(SpotifyError):  # noqa: N818 (name agreed with callers)
    """Any other 403 (an endpoint removed for development-mode apps, a missing scope)."""


class SpotifyRequestError(SpotifyError):
    """Any other 4xx: a bad request, an unknown id, rejected client credentials."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.status)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", _DEFAULT_RETRY_AFTER)))
    except ValueError:
        return _DEFAULT_RETRY_AFTER


def _error_fields(body: bytes) -> tuple[str, str, str]:
    """(Web API message, Web API reason, OAuth error code) from whatever the body holds."""
    parsed = _json(body)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or ""), str(error.get("reason") or ""), ""
    if isinstance(error, str):
        return str(parsed.get("error_description") or ""), "", error
    return "", "", ""


def classify_response(
    status: int, headers: Mapping[str, str], body: bytes, path: str
) -> SpotifyError:
    """Map one error answer (status ≥ 400) to the exception the callers handle."""
    message, reason, oauth_error = _error_fields(body)
    where = f"HTTP {status} on {path}" + (f": {message}" if message else "")
    if status == 429:
        return SpotifyRateLimited(_retry_after(headers), reason == "QUOTA_EXCEEDED")
    if status >= 500:
        return SpotifyUpstreamError(where, status)
    if oauth_error == "invalid_grant":
        return SpotifyTokenExpired(f"{where} (invalid_grant)")
    if oauth_error:
        return SpotifyRequestError(f"{where} ({oauth_error})", status)
    if status == 401:
        return SpotifyUnauthorized(where)
    if status == 403:
        return _classify_forbidden(message, path, where)
    return SpotifyRequestError(where, status)


def _classify_forbidden(message: str, path: str, where: str) -> SpotifyError:
    if message == NOT_ALLOWLISTED_MESSAGE:
        return SpotifyNotAllowlisted(where)
    if path.rstrip("/").endswith("/audio-features"):
        return AudioFeaturesForbidden(where)
    return SpotifyForbidden(where)


def _raise_for_error(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests response hook: error answers become our exceptions before spotipy sees them."""
    if response.status_code >= 400:
        path = urlparse(response.url).path
        raise classify_response(response.status_code, response.headers, response.content, path)


def http_session() -> requests.Session:
    """A session with no transport retries (the retries are ours) and error classification."""
    session = requests.Session()
    session.hooks["response"].append(_raise_for_error)
    return session


_local = threading.local()


def thread_session() -> requests.Session:
    """This thread's :func:`http_session`: its connections are reused across members' calls.

    One per thread (sessions are not meant to be shared between threads), and so one per
    worker process when the gateway calls Spotify from a process pool.
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = http_session()
    return session
