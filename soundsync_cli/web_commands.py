"""``soundsync web`` (the link flow, /healthz, /metrics on ``$PORT``) and ``soundsync link-url``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from soundsync_bench.linking import format_markdown, run_link_bench
from soundsync_bench.report import write_section
from soundsync_cli.runtime import (
    WEB_GC_THRESHOLDS,
    configure_logging,
    database_url,
    open_pool,
    spotify_gateway,
    stop_on_signals,
    tune_gc_for_serving,
)
from soundsync_core.security.vault import TokenVault
from soundsync_core.services.linking import start_link
from soundsync_core.settings import Settings
from web.app import PathOnlyAccessLogger, create_app

log = logging.getLogger(__name__)
# Platforms route $PORT from outside the container: listen on every interface by default.
DEFAULT_HOST = "0.0.0.0"  # noqa: S104
StopWeb = Callable[[], Awaitable[None]]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``web`` and ``link-url`` to the ``soundsync`` command."""
    cmd = sub.add_parser("web", help="serve the Spotify link flow, /healthz and /metrics on $PORT")
    cmd.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind ({DEFAULT_HOST})")
    cmd.set_defaults(handler=run_web)
    cmd = sub.add_parser("link-url", help="print a one-time Spotify link URL for a member")
    cmd.add_argument("user_id", type=int, help="the member's Discord user id")
    cmd.add_argument("--guild", type=int, default=None, help="the Discord server (guild) id")
    cmd.set_defaults(handler=run_link_url)


def run_web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests and close the pool."""
    configure_logging(settings)
    settings.require("spotify_client_id", "soundsync_secret_key")
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
            await _serve_app(create_app(settings, pool, gateway=gateway), host, port, stop)


async def listen(app: web.Application, host: str, port: int, **options: Any) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` (0: a free port); the caller cleans the runner up."""
    runner = web.AppRunner(app, **options)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("web listening on %s:%d", *runner.addresses[0][:2])
    return runner


async def _serve_app(app: web.Application, host: str, port: int, stop: asyncio.Event) -> None:
    runner = await listen(app, host, port, access_log_class=PathOnlyAccessLogger)
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


async def _start_web(settings: Settings, pool: asyncpg.Pool) -> tuple[str, StopWeb]:
    """The web app as `soundsync web` runs it (Spotify workers, GC tuning), on a free port."""
    with contextlib.ExitStack() as stack:
        gateway = stack.enter_context(spotify_gateway(settings))
        runner = await listen(create_app(settings, pool, gateway=gateway), "127.0.0.1", 0, access_log=None)
        workers = stack.pop_all()
    tune_gc_for_serving(WEB_GC_THRESHOLDS)
    host, port = runner.addresses[0][:2]

    async def stop() -> None:
        await runner.cleanup()
        workers.close()

    return f"http://{host}:{port}", stop


def run_link_bench_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bench, print its table, optionally write BENCHMARKS.md."""
    configure_logging(settings)
    with database_url(settings) as url:
        report = asyncio.run(run_link_bench(settings, url, _start_web, members=args.members))
    table = format_markdown(report)
    print(table, end="")
    if args.write is not None:
        title = f"Linking under load (`soundsync bench link`, {args.members} callbacks)"
        write_section(args.write, "link", title, table)
        print(f"updated {args.write}", file=sys.stderr)
    return 0 if report.errors == 0 and report.max_stall_ms < 100 else 1
