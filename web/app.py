"""The app factory: tests, ``soundsync web`` and ``soundsync run`` build the same app."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from soundsync_core.security.vault import TokenVault
from soundsync_core.services.linking import LinkingService
from soundsync_core.services.source_linking import LastfmLinking
from soundsync_core.settings import Settings
from soundsync_core.sources.spotify_gateway import SpotifyGateway
from soundsync_core.sources.spotify_source import sync_app_facts
from web import handlers, pages
from web.hardening import PROTOCOL_LOG, content_security_policy, printable, security_headers
from web.keys import LASTFM_KEY, LINKING_KEY, METRICS_KEY, POOL_KEY, SETTINGS_KEY
from web.metrics import Metrics

log = logging.getLogger(__name__)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings (``/callback?code=…&state=…`` carries secrets), and
    with control characters escaped (a decoded ``%0D%0A`` must not start a forged line)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.1f ms', printable(str(request.remote)),
                         printable(request.method), printable(request.path), response.status,
                         time * 1000)


@web.middleware
async def _timed(request: web.Request, handler: handlers.Handler) -> web.StreamResponse:
    """Request latency by route template (never by raw path: states must not become labels)."""
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        request.app[METRICS_KEY].observe_request(route, time.perf_counter() - started)


@web.middleware
async def _friendly_errors(request: web.Request, handler: handlers.Handler) -> web.StreamResponse:
    """Members see a plain page; the details (never a token) go to the log."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return pages.not_found()
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", printable(request.method), printable(request.path))
        return pages.server_error()


async def _spotify_facts(app: web.Application) -> AsyncIterator[None]:
    """At start-up, learn what other processes found out about the Spotify app."""
    await sync_app_facts(app[POOL_KEY], app[LINKING_KEY].gateway)
    yield


def create_app(
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    gateway: SpotifyGateway | None = None,
    vault: TokenVault | None = None,
    metrics: Metrics | None = None,
    lastfm: LastfmLinking | None = None,
) -> web.Application:
    """The web application. The pool belongs to the caller (it outlives the app).

    ``lastfm``: the Last.fm link (its ``/lastfm/callback``), when Last.fm is set up.

    Raises ``ConfigError`` without ``SPOTIFY_CLIENT_ID`` or ``SOUNDSYNC_SECRET_KEY``: tokens
    are never stored unencrypted.
    """
    settings.require("spotify_client_id")
    vault = vault or TokenVault(settings.soundsync_secret_key)
    gateway = gateway or SpotifyGateway(settings)
    providers = {lastfm.source.name: lastfm} if lastfm is not None else {}
    linking = LinkingService(settings, pool, gateway, vault, providers)
    app = web.Application(
        middlewares=[_timed, _friendly_errors],
        # Whoever serves the app (CLI, tests) gets the escaped access log and quiet protocol errors.
        handler_args={"logger": PROTOCOL_LOG, "access_log_class": PathOnlyAccessLogger},
    )
    app[SETTINGS_KEY] = settings
    app[POOL_KEY] = pool
    app[LINKING_KEY] = linking
    app[METRICS_KEY] = metrics or Metrics()
    app.cleanup_ctx.append(_spotify_facts)
    origins = (linking.provider_origin, *(p.provider_origin for p in providers.values()))
    csp = content_security_policy(pages.STYLE_SOURCE, origins)
    app.on_response_prepare.append(security_headers(csp))
    app.router.add_routes([
        web.get("/link", handlers.link),
        web.post("/link/continue", handlers.link_continue),
        # Only GET finishes a link: a HEAD (a link preview, a prefetcher) must not use it up.
        web.get("/callback", handlers.callback, allow_head=False),
        web.get("/healthz", handlers.healthz),
        web.get("/metrics", handlers.metrics),
    ])
    if lastfm is not None:
        app[LASTFM_KEY] = lastfm
        app.router.add_get("/lastfm/callback", handlers.lastfm_callback, allow_head=False)
    return app
