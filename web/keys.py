"""Typed application state keys (shared by the app factory and the handlers)."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from soundsync_core.services.linking import LinkingService
from soundsync_core.services.source_linking import LastfmLinking
from soundsync_core.settings import Settings
from web.metrics import Metrics

SETTINGS_KEY = web.AppKey("settings", Settings)
POOL_KEY = web.AppKey("pool", asyncpg.Pool)
LINKING_KEY = web.AppKey("linking", LinkingService)
METRICS_KEY = web.AppKey("metrics", Metrics)
LASTFM_KEY = web.AppKey("lastfm", LastfmLinking)
