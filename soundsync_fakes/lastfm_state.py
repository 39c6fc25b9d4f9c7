"""The fake Last.fm's state and answers: users and their charts, tags, tokens, sessions, faults.

Answers are shaped like the recorded ones in ``tests/fixtures/lastfm`` (converted XML: numbers
as strings, ``@attr`` and ``#text`` keys, a one-element list sent as the element itself).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

PERIODS = ("overall", "7day", "1month", "3month", "6month", "12month")
FAULTS = {
    # mode: (Last.fm error code, message); None = an HTML 503 page, no JSON at all.
    "rate_limited": (29, "Rate Limit Exceeded - Your IP has made too many requests in a short period"),
    "offline": (11, "Service Offline - This service is temporarily offline. Try again later."),
    "temporary": (16, "There was a temporary error processing your request. Please try again"),
    "invalid_key": (10, "Invalid API key - You must be granted a valid key by last.fm"),
    "suspended_key": (
        26, "Suspended API key - Access for your account has been suspended, please contact Last.fm"
    ),
    "server_error": None,
}
TOKEN_SECONDS = 3600
_IMAGE = "https://lastfm.freetls.fastly.net/i/u/{}/2a96cbd8b46e442fc41c2b86b821562f.png"
_SIZES = (("small", "34s"), ("medium", "64s"), ("large", "174s"), ("extralarge", "300x300"),
          ("mega", "300x300"))


@dataclass(frozen=True)
class FakeArtist:
    """One row of a fake user's artist chart."""

    name: str
    playcount: int
    mbid: str = ""


@dataclass(frozen=True)
class FakeTrack:
    """One row of a fake user's track chart."""

    name: str
    artist: str
    playcount: int
    mbid: str = ""
    artist_mbid: str = ""
    duration: int = 0


@dataclass
class FakeLastfmUser:
    """A Last.fm account: charts per period (a period without a chart is empty)."""

    name: str
    artists: dict[str, list[FakeArtist]] = field(default_factory=dict)
    tracks: dict[str, list[FakeTrack]] = field(default_factory=dict)
    private: bool = False


@dataclass
class Token:
    """A web-auth token: issued on the auth page, authorised by the member, used once."""

    user: str | None
    expires_at: float
    used: bool = False


class LastfmError(Exception):
    """A Last.fm error answer: ``{"error": code, "message": message, "links": []}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LastfmState:
    """Everything the fake knows; tests seed it through :class:`FakeLastfm`."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.users: dict[str, FakeLastfmUser] = {}
        self.tags: dict[str, list[tuple[str, int]]] = {}  # artist name (lower) or mbid → tags
        self.tokens: dict[str, Token] = {}
        self.sessions: dict[str, str] = {}  # session key → username
        self.fault: str | None = None
        self.fault_count: int | None = None
        self.user_agents: set[str] = set()

    # --- faults ----------------------------------------------------------------------------

    def take_fault(self) -> str | None:
        """The active fault for this request (a counted fault wears off)."""
        if self.fault is None:
            return None
        fault = self.fault
        if self.fault_count is not None:
            self.fault_count -= 1
            if self.fault_count <= 0:
                self.fault, self.fault_count = None, None
        return fault

    # --- auth ------------------------------------------------------------------------------

    def issue_token(self, user: str | None) -> str:
        """A token for the auth page; ``user`` None = the member has not allowed access."""
        token = secrets.token_hex(16)
        self.tokens[token] = Token(user, time.time() + TOKEN_SECONDS)
        return token

    def session_for(self, token: str) -> tuple[str, str]:
        """``auth.getSession``: (username, session key) or a LastfmError 4/14/15."""
        grant = self.tokens.get(token)
        if grant is None or grant.used:
            raise LastfmError(4, "Invalid authentication token supplied")
        if grant.expires_at < time.time():
            raise LastfmError(15, "This token has expired")
        if grant.user is None:
            raise LastfmError(14, "This token has not been authorized")
        grant.used = True
        key = secrets.token_hex(16)
        self.sessions[key] = grant.user
        return grant.user, key

    # --- answers ---------------------------------------------------------------------------

    def user(self, name: str, session_user: str | None) -> FakeLastfmUser:
        """The user a ``user.*`` method asks about (6 unknown, 17 private to others)."""
        found = self.users.get(name.lower())
        if found is None:
            raise LastfmError(6, "User not found")
        if found.private and session_user != found.name:
            raise LastfmError(17, "Login: User required to be logged in")
        return found

    def top_artists(self, user: FakeLastfmUser, period: str, limit: int, page: int) -> dict[str, Any]:
        """A ``user.getTopArtists`` answer."""
        chart = user.artists.get(period, [])
        rows = _page(chart, limit, page)
        start = (page - 1) * limit
        items = [
            {
                "name": a.name, "playcount": str(a.playcount), "mbid": a.mbid,
                "url": _music_url(a.name), "streamable": "0", "image": _images(5),
                "@attr": {"rank": str(start + i)},
            }
            for i, a in enumerate(rows, start=1)
        ]
        return {"topartists": {"artist": one_or_many(items), "@attr": _list_attr(user, chart, limit, page)}}

    def top_tracks(self, user: FakeLastfmUser, period: str, limit: int, page: int) -> dict[str, Any]:
        """A ``user.getTopTracks`` answer."""
        chart = user.tracks.get(period, [])
        rows = _page(chart, limit, page)
        start = (page - 1) * limit
        items = [
            {
                "streamable": {"fulltrack": "0", "#text": "0"}, "mbid": t.mbid, "name": t.name,
                "image": _images(4),
                "artist": {"url": _music_url(t.artist), "name": t.artist, "mbid": t.artist_mbid},
                "url": f"{_music_url(t.artist)}/_/{quote_plus(t.name)}",
                "duration": str(t.duration), "@attr": {"rank": str(start + i)},
                "playcount": str(t.playcount),
            }
            for i, t in enumerate(rows, start=1)
        ]
        return {"toptracks": {"track": one_or_many(items), "@attr": _list_attr(user, chart, limit, page)}}

    def top_tags(self, artist: str | None, mbid: str | None) -> dict[str, Any]:
        """An ``artist.getTopTags`` answer (6 for an artist the fake has no tags entry for)."""
        key = mbid if mbid else (artist or "").lower()
        if key not in self.tags:
            raise LastfmError(6, "The artist you supplied could not be found")
        name = artist or next((a.name for u in self.users.values() for chart in u.artists.values()
                               for a in chart if a.mbid == mbid), "")
        items = [{"count": count, "name": tag, "url": "https://www.last.fm/tag/" + quote_plus(tag)}
                 for tag, count in self.tags[key]]
        return {"toptags": {"tag": one_or_many(items), "@attr": {"artist": name}}}

    # --- seeding ---------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        artists: Sequence[FakeArtist] | Mapping[str, Sequence[FakeArtist]] = (),
        tracks: Sequence[FakeTrack] | Mapping[str, Sequence[FakeTrack]] = (),
        *,
        private: bool = False,
    ) -> FakeLastfmUser:
        """Add a user; a plain list of artists/tracks is their chart for every period."""
        user = FakeLastfmUser(name, _per_period(artists), _per_period(tracks), private)
        self.users[name.lower()] = user
        return user


def one_or_many(items: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
    """Last.fm's XML-to-JSON conversion sends a one-element list as the element itself."""
    return items[0] if len(items) == 1 else items


def _per_period(rows: Sequence[Any] | Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    if isinstance(rows, Mapping):
        return {period: list(chart) for period, chart in rows.items()}
    return {period: list(rows) for period in PERIODS}


def _page(chart: Sequence[Any], limit: int, page: int) -> Sequence[Any]:
    return chart[(page - 1) * limit: page * limit]


def _list_attr(user: FakeLastfmUser, chart: Sequence[Any], limit: int, page: int) -> dict[str, str]:
    pages = max(1, -(-len(chart) // limit))
    return {"user": user.name, "totalPages": str(pages), "page": str(page),
            "perPage": str(limit), "total": str(len(chart))}


def _images(count: int) -> list[dict[str, str]]:
    return [{"size": size, "#text": _IMAGE.format(path)} for size, path in _SIZES[:count]]


def _music_url(name: str) -> str:
    return "https://www.last.fm/music/" + quote_plus(name)
