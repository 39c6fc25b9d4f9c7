"""Fake Spotify Web API (``/v1``) and fake ReccoBeats (``/reccobeats/v1``) sub-applications."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from soundsync_fakes.spotify_accounts import STATE_KEY
from soundsync_fakes.spotify_catalog import (
    TIME_RANGES,
    FakeUser,
    artist_json,
    audio_features_json,
    reccobeats_json,
    track_json,
    user_json,
)
from soundsync_fakes.spotify_state import SpotifyState

USER_KEY: web.RequestKey[FakeUser] = web.RequestKey("spotify_user", FakeUser)
_ID = re.compile(r"^[0-9A-Za-z]{22}$")
NOT_ALLOWLISTED = "User not registered in the Developer Dashboard"


def api_error(status: int, message: str, **extra: Any) -> web.Response:
    """Spotify's error body ``{"error": {"status", "message"[, "reason"]}}``."""
    return web.json_response({"error": {"status": status, "message": message, **extra}},
                             status=status)


def _fault_response(state: SpotifyState, fault: str) -> web.Response:
    retry = {"Retry-After": str(state.retry_after)}
    if fault == "rate_limited":
        response = api_error(429, "API rate limit exceeded")
    elif fault == "quota_exceeded":
        response = api_error(429, "Too many requests", reason="QUOTA_EXCEEDED")
    else:
        return api_error(state.server_error_status, "Service unavailable")
    response.headers.update(retry)
    return response


def _authenticate(state: SpotifyState, request: web.Request) -> FakeUser | web.Response:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return api_error(401, "No token provided")
    grant = state.tokens.access.get(header[7:])
    if grant is None:
        return api_error(401, "Invalid access token")
    if grant.expires_at < time.time():
        return api_error(401, "The access token expired")
    user = state.catalog.users[grant.user_id]
    if not state.full_access and not user.allowlisted:
        return api_error(403, NOT_ALLOWLISTED)
    return user


@web.middleware
async def v1_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Faults first (they are app-wide), then the bearer token, then the allowlist."""
    state = request.app[STATE_KEY]
    fault = state.take_fault()
    if fault is not None:
        return _fault_response(state, fault)
    user = _authenticate(state, request)
    if isinstance(user, web.Response):
        return user
    request[USER_KEY] = user
    return await handler(request)


def _api_base(request: web.Request) -> str:
    return f"{request.url.origin()}/v1"


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise web.HTTPBadRequest(
            text=f'{{"error":{{"status":400,"message":"Invalid {name}"}}}}',
            content_type="application/json",
        )
    return value


async def me(request: web.Request) -> web.Response:
    """GET /v1/me (spotipy asks for ``/v1/me/``)."""
    state = request.app[STATE_KEY]
    return web.json_response(
        user_json(request[USER_KEY], _api_base(request), full=state.full_access)
    )


def _page_link(request: web.Request, kind: str, offset: int, limit: int, time_range: str) -> str:
    return (f"{_api_base(request)}/me/top/{kind}?offset={offset}&limit={limit}"
            f"&time_range={time_range}")


async def top_items(request: web.Request) -> web.Response:
    """GET /v1/me/top/{artists|tracks}: a paging object."""
    state, user = request.app[STATE_KEY], request[USER_KEY]
    kind = request.match_info["kind"]
    time_range = request.query.get("time_range", "medium_term")
    if time_range not in TIME_RANGES:
        return api_error(400, "Invalid time range")
    limit = _int_param(request, "limit", 20, 1, 50)
    offset = _int_param(request, "offset", 0, 0, 10_000)
    ids = (user.top_artists if kind == "artists" else user.top_tracks)[time_range]
    api, full = _api_base(request), state.full_access
    catalog = state.catalog
    items = [
        artist_json(catalog.artists[i], api, full=full) if kind == "artists"
        else track_json(catalog, catalog.tracks[i], api, full=full)
        for i in ids[offset:offset + limit]
    ]
    has_next = offset + limit < len(ids)
    return web.json_response({
        "href": _page_link(request, kind, offset, limit, time_range),
        "items": items,
        "limit": limit,
        "next": _page_link(request, kind, offset + limit, limit, time_range) if has_next else None,
        "offset": offset,
        "previous": (_page_link(request, kind, max(offset - limit, 0), limit, time_range)
                     if offset > 0 else None),
        "total": len(ids),
    })


def _lookup(request: web.Request, table: dict[str, Any]) -> Any:
    item_id = request.match_info["id"]
    if not _ID.match(item_id):
        raise web.HTTPBadRequest(text='{"error":{"status":400,"message":"invalid id"}}',
                                 content_type="application/json")
    if item_id not in table:
        raise web.HTTPNotFound(text='{"error":{"status":404,"message":"Resource not found"}}',
                               content_type="application/json")
    return table[item_id]


async def artist(request: web.Request) -> web.Response:
    """GET /v1/artists/{id}."""
    state = request.app[STATE_KEY]
    found = _lookup(request, state.catalog.artists)
    return web.json_response(artist_json(found, _api_base(request), full=state.full_access))


async def track(request: web.Request) -> web.Response:
    """GET /v1/tracks/{id}."""
    state = request.app[STATE_KEY]
    found = _lookup(request, state.catalog.tracks)
    return web.json_response(
        track_json(state.catalog, found, _api_base(request), full=state.full_access)
    )


def _ids(request: web.Request, cap: int) -> list[str] | web.Response:
    ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not ids:
        return api_error(400, "No ids provided")
    if len(ids) > cap:
        return api_error(400, "Too many ids requested")
    return ids


async def several_artists(request: web.Request) -> web.Response:
    """GET /v1/artists?ids=: removed for development-mode apps."""
    state = request.app[STATE_KEY]
    if not state.full_access:
        return api_error(403, "Forbidden")
    ids = _ids(request, 50)
    if isinstance(ids, web.Response):
        return ids
    api, artists = _api_base(request), state.catalog.artists
    return web.json_response(
        {"artists": [artist_json(artists[i], api, full=True) if i in artists else None
                     for i in ids]}
    )


def _audio_features_forbidden(state: SpotifyState) -> web.Response:
    if state.audio_features_403_body == "json":
        return api_error(403, "Forbidden")
    if state.audio_features_403_body == "non_object":
        return web.json_response("Forbidden", status=403)
    return web.Response(status=403)


async def audio_features(request: web.Request) -> web.Response:
    """GET /v1/audio-features?ids= (≤ 100): 403 for development-mode apps."""
    state = request.app[STATE_KEY]
    if not state.full_access:
        return _audio_features_forbidden(state)
    ids = _ids(request, 100)
    if isinstance(ids, web.Response):
        return ids
    api, tracks = _api_base(request), state.catalog.tracks
    return web.json_response(
        {"audio_features": [audio_features_json(tracks[i], api) if i in tracks else None
                            for i in ids]}
    )


async def reccobeats_audio_features(request: web.Request) -> web.Response:
    """ReccoBeats GET /v1/audio-features?ids= (≤ 40): unknown tracks are left out."""
    state = request.app[STATE_KEY]
    ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not ids or len(ids) > 40:
        return web.json_response(
            {"error": "Bad Request", "message": "ids must hold 1 to 40 ids"}, status=400
        )
    tracks = state.catalog.tracks
    content = [reccobeats_json(tracks[i]) for i in ids if i in tracks and tracks[i].in_reccobeats]
    return web.json_response({"content": content})


def v1_app(state: SpotifyState) -> web.Application:
    """The Web API sub-application, mounted at ``/v1``."""
    app = web.Application(middlewares=[v1_guard])
    app[STATE_KEY] = state
    app.router.add_get("/me", me)
    app.router.add_get("/me/", me)
    app.router.add_get("/me/top/{kind:artists|tracks}", top_items)
    app.router.add_get("/artists", several_artists)
    app.router.add_get("/artists/", several_artists)
    app.router.add_get("/artists/{id}", artist)
    app.router.add_get("/tracks/{id}", track)
    app.router.add_get("/audio-features", audio_features)
    app.router.add_get("/audio-features/", audio_features)
    return app


def reccobeats_app(state: SpotifyState) -> web.Application:
    """The ReccoBeats sub-application, mounted at ``/reccobeats/v1``."""
    app = web.Application()
    app[STATE_KEY] = state
    app.router.add_get("/audio-features", reccobeats_audio_features)
    return app
