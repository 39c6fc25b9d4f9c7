"""Thin handlers: read the request, call one service, render."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from soundsync_core.db.pool import ping
from soundsync_core.security.states import StateError
from web import pages
from web.keys import LINKING_KEY, METRICS_KEY, POOL_KEY

HEALTH_TIMEOUT = 2.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def link(request: web.Request) -> web.StreamResponse:
    """``GET /link?state=…``: 302 to Spotify's authorize page for this member's state."""
    try:
        url = await request.app[LINKING_KEY].authorize_url(request.query.get("state"))
    except StateError as exc:
        return pages.bad_state(exc.reason)
    raise web.HTTPFound(url, headers={"Cache-Control": "no-store"})


async def callback(request: web.Request) -> web.StreamResponse:
    """``GET /callback?code=…&state=…`` (or ``?error=…``): finish the link, show the result."""
    query = request.query
    result = await request.app[LINKING_KEY].finish_link(
        state=query.get("state"), code=query.get("code"), error=query.get("error")
    )
    request.app[METRICS_KEY].record_link(result)
    return pages.link_result(result)


async def healthz(request: web.Request) -> web.StreamResponse:
    """``GET /healthz``: 200 when the database answers, 503 otherwise."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await ping(request.app[POOL_KEY])
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return web.json_response({"status": "unavailable", "database": False}, status=503)
    return web.json_response({"status": "ok", "database": True})


async def metrics(request: web.Request) -> web.StreamResponse:
    """``GET /metrics``: Prometheus text format."""
    return web.Response(
        text=request.app[METRICS_KEY].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
