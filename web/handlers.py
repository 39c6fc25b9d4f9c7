"""Thin handlers: read the request, call one service, render."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web
from multidict import MultiDictProxy

from soundsync_core.db.pool import ping
from soundsync_core.security.states import StateError
from web import pages
from web.keys import LASTFM_KEY, LINKING_KEY, METRICS_KEY, POOL_KEY, SETTINGS_KEY

HEALTH_TIMEOUT = 2.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def link(request: web.Request) -> web.StreamResponse:
    """``GET /link?state=…``: whom the link is for and a Continue form; changes nothing."""
    try:
        view = await request.app[LINKING_KEY].link_page(request.query.get("state"))
    except StateError as exc:
        return pages.bad_state(exc.reason)
    return pages.link_page(view)


def _text_field(form: MultiDictProxy, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def link_continue(request: web.Request) -> web.StreamResponse:
    """``POST /link/continue`` (the Continue form): 303 to the provider; uses nothing up."""
    form = await request.post()
    try:
        url = await request.app[LINKING_KEY].continue_url(
            _text_field(form, "state"), _text_field(form, "csrf")
        )
    except StateError as exc:
        return pages.bad_state(exc.reason)
    raise web.HTTPSeeOther(url, headers={"Cache-Control": "no-store"})


async def callback(request: web.Request) -> web.StreamResponse:
    """``GET /callback?code=…&state=…`` (or ``?error=…``): finish the link, show the result."""
    query = request.query
    result = await request.app[LINKING_KEY].finish_link(
        state=query.get("state"), code=query.get("code"), error=query.get("error")
    )
    request.app[METRICS_KEY].record_link(result)
    return pages.link_result(result)


async def lastfm_callback(request: web.Request) -> web.StreamResponse:
    """``GET /lastfm/callback?state=…&token=…``: Last.fm's return; finish the link, show it."""
    query = request.query
    result = await request.app[LASTFM_KEY].finish(
        state=query.get("state"), token=query.get("token")
    )
    return pages.source_link_result(result)


async def healthz(request: web.Request) -> web.StreamResponse:
    """``GET /healthz``: 200 when the database answers, 503 otherwise."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await ping(request.app[POOL_KEY])
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return web.json_response({"status": "unavailable", "database": False}, status=503)
    return web.json_response({"status": "ok", "database": True})


def _bearer_matches(request: web.Request, token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode())


async def metrics(request: web.Request) -> web.StreamResponse:
    """``GET /metrics``: Prometheus text format; with ``METRICS_TOKEN`` set, only for its bearer."""
    token = request.app[SETTINGS_KEY].metrics_token
    if token is not None and not _bearer_matches(request, token.get_secret_value()):
        return web.Response(status=401, text="401: /metrics needs its bearer token\n",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body, content_type = request.app[METRICS_KEY].render(request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type})
