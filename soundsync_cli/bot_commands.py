"""``soundsync bot`` (gateway + scheduler) and ``soundsync run [--sandbox]`` (bot + web + scheduler).

This is the composition root of the bot: the pool, the HTTP session and the settings are built
here and passed into :class:`SoundSyncBot`; discord.py is pointed at the configured Discord URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import asyncpg
import discord
import yarl

from bot.bot import SoundSyncBot
from bot.dm_sender import DiscordDMSender
from soundsync_cli.runtime import (
    configure_logging,
    database_url,
    open_pool,
    spotify_gateway,
    stop_on_signals,
    tune_gc_for_serving,
)
from soundsync_cli.web_commands import listen
from soundsync_core.security.vault import TokenVault
from soundsync_core.services.scheduler import WeeklyJobs, start_scheduler
from soundsync_core.settings import Settings
from soundsync_core.sources.spotify_gateway import SpotifyGateway
from web.app import PathOnlyAccessLogger, create_app

log = logging.getLogger(__name__)
# Platforms route $PORT from outside the container: listen on every interface by default.
DEFAULT_HOST = "0.0.0.0"  # noqa: S104


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bot`` and ``run`` to the ``soundsync`` command."""
    cmd = sub.add_parser("bot", help="run the Discord bot and the weekly scheduler")
    cmd.set_defaults(handler=run_bot)
    cmd = sub.add_parser("run", help="bot + web + scheduler in one process")
    cmd.add_argument("--sandbox", action="store_true",
                     help="no credentials: start a fake Discord and fake Spotify on loopback")
    cmd.add_argument("--host", default=DEFAULT_HOST, help=f"interface the web binds ({DEFAULT_HOST})")
    cmd.set_defaults(handler=run_all)


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    """Gateway + scheduler until SIGINT/SIGTERM."""
    configure_logging(settings)
    settings.require("discord_token")
    with database_url(settings) as url:
        asyncio.run(_until_signal(serve(settings, url, with_web=False)))
    return 0


def run_all(args: argparse.Namespace, settings: Settings) -> int:
    """Bot + web + scheduler (or the whole thing against local fakes with ``--sandbox``)."""
    configure_logging(settings)
    if args.sandbox:
        from soundsync_cli.sandbox import run_sandbox  # the fakes load only when asked for

        with database_url(settings) as server:
            asyncio.run(_until_signal(run_sandbox(settings, server)))
        return 0
    settings.require("discord_token", "spotify_client_id", "soundsync_secret_key")
    with database_url(settings) as url:
        asyncio.run(_until_signal(serve(settings, url, with_web=True, host=args.host)))
    return 0


def point_discord_py_at(settings: Settings) -> None:
    """Every external URL is a setting: discord.py's REST base and gateway are process-wide."""
    discord.http.Route.BASE = str(settings.discord_api_url).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def _until_signal(main: AsyncIterator[None]) -> None:
    """Drive ``main`` (an async generator that yields once it is up) until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with contextlib.aclosing(main):
            async for _ in main:
                await stop.wait()
                break


async def serve(
    settings: Settings, url: str, *, with_web: bool, host: str = DEFAULT_HOST
) -> AsyncIterator[SoundSyncBot]:
    """Open the pool, start the bot (and the web app), then the scheduler; yields the ready bot."""
    async with open_pool(settings, url) as pool:
        async for bot in serve_with_pool(settings, pool, with_web=with_web, host=host):
            yield bot


async def serve_with_pool(
    settings: Settings, pool: asyncpg.Pool, *, with_web: bool, host: str = DEFAULT_HOST
) -> AsyncIterator[SoundSyncBot]:
    """Everything of :func:`serve` on a pool the caller owns."""
    assert settings.discord_token is not None  # checked by the commands
    point_discord_py_at(settings)
    vault = TokenVault(settings.soundsync_secret_key) if settings.soundsync_secret_key else None
    async with aiohttp.ClientSession() as session, contextlib.AsyncExitStack() as stack:
        bot = SoundSyncBot(pool=pool, settings=settings, session=session, vault=vault)
        await stack.enter_async_context(bot)
        task = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
        stack.push_async_callback(_stop_bot, bot, task)
        await _ready(bot, task)
        if with_web:
            gateway = stack.enter_context(spotify_gateway(settings))
            stack.push_async_callback(await _start_web(settings, pool, gateway, host))
        jobs = WeeklyJobs(pool, settings, DiscordDMSender(bot))
        scheduler = await start_scheduler(jobs, settings)
        stack.push_async_callback(jobs.stop, scheduler)
        log.info("SoundSync is up (%s)", "bot + web + scheduler" if with_web else "bot + scheduler")
        tune_gc_for_serving()
        yield bot


async def _ready(bot: SoundSyncBot, task: asyncio.Task[None]) -> None:
    ready = asyncio.ensure_future(bot.wait_until_ready())
    await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # re-raise why the bot stopped (bad token, Discord unreachable)
        raise RuntimeError("the bot stopped before it was ready")


async def _stop_bot(bot: SoundSyncBot, task: asyncio.Task[None]) -> None:
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _start_web(
    settings: Settings, pool: asyncpg.Pool, gateway: SpotifyGateway, host: str
) -> Callable[[], Awaitable[None]]:
    app = create_app(settings, pool, gateway=gateway)
    runner = await listen(app, host, settings.port, access_log_class=PathOnlyAccessLogger)
    return runner.cleanup
