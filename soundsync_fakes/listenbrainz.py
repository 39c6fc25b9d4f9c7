"""Fake ListenBrainz on loopback: ``/1/validate-token`` and ``/1/stats/user/{name}/artists|
recordings``, with ListenBrainz's rate-limit headers on every answer.

Point the settings at it with :meth:`FakeListenBrainz.settings_overrides`
(``LISTENBRAINZ_API_URL = fake.url + "/1"``).

Statistics answer like the recorded ones in ``tests/fixtures/listenbrainz``: 200 with a
``payload``, 204 (no body) for a range not computed yet, 404 ``{"code", "error"}`` for an unknown
user, 400 for an unknown range. Every answer carries ``X-RateLimit-Limit``, ``-Remaining``,
``-Reset-In`` and ``-Reset``; past ``rate_limit`` calls in a window the fake answers 429.
Faults (:meth:`FakeListenBrainz.set_mode`): ``rate_limited`` (429) and ``server_error`` (500),
optionally for the next ``count`` calls.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from soundsync_fakes.fakelog import FakeLog
from soundsync_fakes.server import FakeServer

RANGES = ("this_week", "this_month", "this_year", "week", "month", "quarter", "year",
          "half_yearly", "all_time")
ENTITIES = ("artists", "recordings")
FAULTS = ("rate_limited", "server_error")
# ListenBrainz counts from 2002 (Last.fm's founding), see ``from_ts`` of all_time answers.
ALL_TIME_FROM = 1009843200


@dataclass(frozen=True)
class FakeListen:
    """One statistics row: an artist (``title`` empty) or a recording."""

    artist: str
    listen_count: int
    artist_mbid: str | None = None
    title: str = ""
    recording_mbid: str | None = None
    release: str | None = None


@dataclass
class FakeListenBrainzUser:
    """An account: its token and its computed statistics per (entity, range)."""

    name: str
    token: str | None = None
    stats: dict[tuple[str, str], list[FakeListen]] = field(default_factory=dict)


@dataclass
class ListenBrainzState:
    """Users, the rate-limit window and faults."""

    users: dict[str, FakeListenBrainzUser] = field(default_factory=dict)
    rate_limit: int = 30
    window: float = 10.0
    window_start: float = 0.0
    calls: int = 0
    fault: str | None = None
    fault_count: int | None = None
    user_agents: set[str] = field(default_factory=set)

    def take_fault(self) -> str | None:
        """The active fault for this request (a counted fault wears off)."""
        fault = self.fault
        if fault is not None and self.fault_count is not None:
            self.fault_count -= 1
            if self.fault_count <= 0:
                self.fault, self.fault_count = None, None
        return fault

    def count_call(self, now: float) -> dict[str, str]:
        """Count this call in the window; the rate-limit headers to send."""
        if now - self.window_start >= self.window:
            self.window_start, self.calls = now, 0
        self.calls += 1
        reset_in = max(0.0, self.window_start + self.window - now)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - self.calls)),
            "X-RateLimit-Reset-In": str(round(reset_in)),
            "X-RateLimit-Reset": str(int(time.time() + reset_in)),
        }


STATE: web.AppKey[ListenBrainzState] = web.AppKey("listenbrainz_state", ListenBrainzState)


def _bounds(stats_range: str, now: datetime) -> tuple[int, int]:
    """``from_ts``/``to_ts`` of a range, as ListenBrainz computes them (yearly ones shown)."""
    this_year = datetime(now.year, 1, 1, tzinfo=UTC)
    if stats_range == "year":
        return int(datetime(now.year - 1, 1, 1, tzinfo=UTC).timestamp()), int(this_year.timestamp())
    if stats_range == "this_year":
        return int(this_year.timestamp()), int(now.timestamp())
    return ALL_TIME_FROM, int(now.timestamp())


def _artist_row(row: FakeListen) -> dict[str, Any]:
    return {"artist_mbid": row.artist_mbid, "artist_name": row.artist, "listen_count": row.listen_count}


def _recording_row(row: FakeListen) -> dict[str, Any]:
    credits = (
        [{"artist_credit_name": row.artist, "artist_mbid": row.artist_mbid, "join_phrase": ""}]
        if row.artist_mbid else None
    )
    return {
        "artist_mbids": [row.artist_mbid] if row.artist_mbid else [],
        "artist_name": row.artist,
        "artists": credits,
        "caa_id": None,
        "caa_release_mbid": None,
        "listen_count": row.listen_count,
        "recording_mbid": row.recording_mbid,
        "release_mbid": None,
        "release_name": row.release,
        "track_name": row.title,
    }


def _error(status: int, message: str, headers: dict[str, str]) -> web.Response:
    return web.json_response({"code": status, "error": message}, status=status, headers=headers)


async def validate_token(request: web.Request) -> web.Response:
    """``GET /1/validate-token``: whose token is this (header ``Authorization: Token …``)."""
    state = request.app[STATE]
    headers = state.count_call(time.monotonic())
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Token ").strip() if header.startswith("Token ") else None
    token = token or request.query.get("token")
    if not token:
        return _error(400, "You need to provide an Authorization token.", headers)
    owner = next((u for u in state.users.values() if u.token and u.token == token), None)
    if owner is None:
        return web.json_response({"code": 200, "message": "Token invalid.", "valid": False}, headers=headers)
    return web.json_response(
        {"code": 200, "message": "Token valid.", "valid": True, "user_name": owner.name}, headers=headers
    )


async def user_stats(request: web.Request) -> web.Response:
    """``GET /1/stats/user/{name}/{entity}``: top artists or recordings for one range."""
    state = request.app[STATE]
    headers = state.count_call(time.monotonic())
    name, entity = request.match_info["name"], request.match_info["entity"]
    stats_range = request.query.get("range", "all_time")
    if stats_range not in RANGES:
        return _error(400, f"Invalid range: {stats_range}", headers)
    user = state.users.get(name.lower())
    if user is None:
        return _error(404, f"Cannot find user: {name}", headers)
    rows = user.stats.get((entity, stats_range))
    if rows is None:
        return web.Response(status=204, headers=headers)
    offset = int(request.query.get("offset", 0))
    count = int(request.query.get("count", 25))
    chosen = rows[offset: offset + count]
    from_ts, to_ts = _bounds(stats_range, datetime.now(UTC))
    shape = _artist_row if entity == "artists" else _recording_row
    payload = {
        entity: [shape(r) for r in chosen], "count": len(chosen), "from_ts": from_ts,
        "last_updated": int(time.time()), "offset": offset, "range": stats_range, "to_ts": to_ts,
        f"total_{entity[:-1]}_count": len(rows), "user_id": user.name,
    }
    return web.json_response({"payload": payload}, headers=headers)


@web.middleware
async def _faults_and_limits(request: web.Request, handler: Any) -> web.StreamResponse:
    """Faults first; then the rate limit; then the handler."""
    state = request.app[STATE]
    state.user_agents.add(request.headers.get("User-Agent", ""))
    fault = state.take_fault()
    if fault == "server_error":
        return web.Response(status=500, text="Internal Server Error")
    window_full = state.calls >= state.rate_limit and (
        time.monotonic() - state.window_start < state.window
    )
    if fault == "rate_limited" or window_full:
        headers = state.count_call(time.monotonic())
        headers["X-RateLimit-Remaining"] = "0"
        return _error(429, "Too many requests. Please slow down.", headers)
    return await handler(request)


def build_app(state: ListenBrainzState, log_path: str | Path | None = None) -> web.Application:
    """The whole fake as one aiohttp application."""
    app = web.Application(middlewares=[FakeLog("listenbrainz", log_path).middleware(), _faults_and_limits])
    app[STATE] = state
    app.router.add_get("/1/validate-token", validate_token)
    app.router.add_get(r"/1/stats/user/{name}/{entity:artists|recordings}", user_stats)
    return app


class FakeListenBrainz(FakeServer):
    """Runner and seeding API of the fake; ``async with FakeListenBrainz() as fake: ...``."""

    def __init__(self, *, log_path: str | Path | None = None) -> None:
        super().__init__()
        self.state = ListenBrainzState()
        self._log_path = log_path

    def build_app(self) -> web.Application:
        """This fake's application (see :class:`FakeServer` for serving it)."""
        return build_app(self.state, self._log_path)

    @property
    def api_url(self) -> str:
        """The API root, as ``LISTENBRAINZ_API_URL``."""
        return f"{self.url}/1"

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword arguments for ``load_settings`` that point SoundSync at this fake."""
        return {"listenbrainz_api_url": self.api_url}

    def set_mode(self, fault: str | None, *, count: int | None = None) -> None:
        """Answer every call (or the next ``count``) with a fault; None = back to normal."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {FAULTS}")
        self.state.fault, self.state.fault_count = fault, count

    def set_rate_limit(self, calls: int, window: float) -> None:
        """Allow ``calls`` per ``window`` seconds (starting a fresh window)."""
        self.state.rate_limit, self.state.window = calls, window
        self.state.window_start, self.state.calls = time.monotonic(), 0

    def add_user(self, name: str, token: str | None = None) -> FakeListenBrainzUser:
        """Add an account (no statistics computed yet: every range answers 204)."""
        user = FakeListenBrainzUser(name, token)
        self.state.users[name.lower()] = user
        return user

    def set_stats(
        self, user: str, entity: str, stats_range: str, rows: Sequence[FakeListen] | None
    ) -> None:
        """Computed statistics of one range (None: not computed, the range answers 204)."""
        if entity not in ENTITIES or stats_range not in RANGES:
            raise ValueError(f"unknown entity or range: {entity!r}, {stats_range!r}")
        stats = self.state.users[user.lower()].stats
        if rows is None:
            stats.pop((entity, stats_range), None)
        else:
            stats[(entity, stats_range)] = list(rows)
