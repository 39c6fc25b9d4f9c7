"""``soundsync web`` (the link flow, /healthz, /metrics on ``$PORT``) and ``soundsync link-url``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

from soundsync_bench.linking import format_markdown, run_link_bench
from soundsync_bench.report import write_section
from soundsync_cli.args import snowflake
from soundsync_cli.bootstrap import (
    DEFAULT_HOST,
    build_sources,
    check_port_free,
    serve_web_on_free_port,
    spotify_gateway,
    start_web,
)
from soundsync_cli.runtime import (
    WEB_GC_THRESHOLDS,
    configure_logging,
    database_url,
    open_pool,
    stop_on_signals,
    tune_gc_for_serving,
)
from soundsync_core.security.vault import TokenVault
from soundsync_core.services.linking import start_link
from soundsync_core.settings import Settings
from soundsync_core.sources.spotify_gateway import SpotifyGateway

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``web`` and ``link-url`` to the ``soundsync`` command."""
    cmd = sub.add_parser("web", help="serve the Spotify link flow, /healthz and /metrics on $PORT")
    cmd.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind ({DEFAULT_HOST})")
    cmd.set_defaults(handler=run_web)
    cmd = sub.add_parser("link-url", help="print a one-time Spotify link URL for a member")
    cmd.add_argument("user_id", type=snowflake, help="the member's Discord user id")
    cmd.add_argument("--guild", type=snowflake, default=None, metavar="GUILD_ID",
                     help="the Discord server (guild) id")
    cmd.set_defaults(handler=run_link_url)


def run_web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests and close the pool."""
    configure_logging(settings)
    settings.require("spotify_client_id", "soundsync_secret_key")
    check_port_free(args.host, settings.port)
    with database_url(settings) as url:
        asyncio.run(serve(settings, url, host=args.host))
    return 0


async def serve(
    settings: Settings, url: str, *, host: str = DEFAULT_HOST, port: int | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the web app on ``host:port`` (default ``settings.port``) until ``stop`` is set."""
    stop = stop or asyncio.Event()
    with stop_on_signals(stop):
        await _serve_until(settings, url, host, port or settings.port, stop)


async def _serve_until(
    settings: Settings, url: str, host: str, port: int, stop: asyncio.Event
) -> None:
    with spotify_gateway(settings) as gateway:
        async with open_pool(settings, url) as pool:
            await _serve_app(settings, pool, gateway, host, port, stop)


async def _serve_app(
    settings: Settings, pool: asyncpg.Pool, gateway: SpotifyGateway, host: str, port: int,
    stop: asyncio.Event,
) -> None:
    # The web process serves Last.fm's callback too: its sources, on one HTTP session.
    async with aiohttp.ClientSession() as http:
        sources = build_sources(pool, gateway, settings, http)
        runner = await start_web(settings, pool, gateway, host, port, sources=sources)
        await _until_stopped(runner, stop)


async def _until_stopped(runner: web.AppRunner, stop: asyncio.Event) -> None:
    try:
        tune_gc_for_serving(WEB_GC_THRESHOLDS)
        await stop.wait()
        log.info("web shutting down: finishing in-flight requests")
    finally:
        await runner.cleanup()


async def link_url(settings: Settings, url: str, user_id: int, guild_id: int | None) -> str:
    """A fresh one-time link URL for the member (valid ten minutes)."""
    vault = TokenVault(settings.soundsync_secret_key)
    async with open_pool(settings, url, min_size=1, max_size=1) as pool:
        return await start_link(pool, vault, settings, user_id, guild_id)


def run_link_url(args: argparse.Namespace, settings: Settings) -> int:
    """Print the URL (the same one the bot's ``/link`` shows)."""
    settings.require("soundsync_secret_key")
    with database_url(settings) as url:
        print(asyncio.run(link_url(settings, url, args.user_id, args.guild)))
    return 0


# --- soundsync bench link ------------------------------------------------------------------------


def register_link_bench(benches: argparse._SubParsersAction) -> None:
    """Add ``link`` to ``soundsync bench``."""
    cmd = benches.add_parser(
        "link", help="concurrent OAuth callbacks through the web app against fake Spotify"
    )
    cmd.add_argument("--members", type=int, default=200, help="concurrent callbacks (200)")
    cmd.add_argument("--write", type=Path, metavar="BENCHMARKS.md",
                     help="also update this markdown file")
    cmd.set_defaults(handler=run_link_bench_command)


def run_link_bench_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bench, print its table, optionally write BENCHMARKS.md."""
    configure_logging(settings)
    with database_url(settings) as url:
        report = asyncio.run(run_link_bench(settings, url, serve_web_on_free_port,
                                                members=args.members))
    table = format_markdown(report)
    print(table, end="")
    if args.write is not None:
        title = f"Linking under load (`soundsync bench link`, {args.members} callbacks)"
        write_section(args.write, "link", title, table)
        print(f"updated {args.write}", file=sys.stderr)
    return 0 if report.errors == 0 and report.max_stall_ms < 100 else 1
