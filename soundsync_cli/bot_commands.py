"""``soundsync bot`` (gateway + scheduler), ``soundsync run [--sandbox]`` (bot + web + scheduler),
``soundsync sandbox`` (the same against local fakes, with a terminal to act as a member) and
``soundsync sync-commands`` (slash commands to Discord, REST only).

The process's object graph is built by :mod:`soundsync_cli.bootstrap`; this module parses the
command and drives it until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from soundsync_cli import bootstrap
from soundsync_cli.bootstrap import DEFAULT_HOST, Running, check_port_free
from soundsync_cli.runtime import configure_logging, database_url, open_pool, stop_on_signals
from soundsync_core.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bot``, ``run``, ``sandbox`` and ``sync-commands`` to the ``soundsync`` command."""
    cmd = sub.add_parser("bot", help="run the Discord bot and the weekly scheduler")
    cmd.set_defaults(handler=run_bot)
    cmd = sub.add_parser("run", help="bot + web + scheduler in one process")
    cmd.add_argument("--sandbox", action="store_true",
                     help="no credentials: start a fake Discord and fake Spotify on loopback")
    cmd.add_argument("--host", default=DEFAULT_HOST, help=f"interface the web binds ({DEFAULT_HOST})")
    cmd.set_defaults(handler=run_all)
    cmd = sub.add_parser("sandbox", help="no credentials: act as a member of a server on local fakes")
    cmd.add_argument("--tour", action="store_true", help="take the guided tour first")
    cmd.set_defaults(handler=run_sandbox_terminal)
    cmd = sub.add_parser("sync-commands",
                         help="send the slash commands to Discord now (REST only, no gateway)")
    cmd.set_defaults(handler=sync_commands)


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    """Gateway + scheduler until SIGINT/SIGTERM."""
    configure_logging(settings)
    settings.require("discord_token")
    with database_url(settings) as url:
        asyncio.run(until_signal(serve(settings, url, with_web=False)))
    return 0


def run_all(args: argparse.Namespace, settings: Settings) -> int:
    """Bot + web + scheduler (or the whole thing against local fakes with ``--sandbox``)."""
    configure_logging(settings)
    if args.sandbox:
        # The tour, then the terminal when a person is there to type.
        return _sandbox(settings, tour=True, terminal=sys.stdin.isatty())
    settings.require("discord_token", "spotify_client_id", "soundsync_secret_key")
    check_port_free(args.host, settings.port)
    with database_url(settings) as url:
        asyncio.run(until_signal(serve(settings, url, with_web=True, host=args.host)))
    return 0


def run_sandbox_terminal(args: argparse.Namespace, settings: Settings) -> int:
    """The sandbox with a terminal to act as any member (``soundsync sandbox``)."""
    configure_logging(settings)
    return _sandbox(settings, tour=args.tour, terminal=True)


def _sandbox(settings: Settings, *, tour: bool, terminal: bool) -> int:
    from soundsync_cli.sandbox_repl import play_sandbox  # the fakes load only when asked for

    check_port_free("127.0.0.1", settings.port)
    with database_url(settings) as server:
        asyncio.run(play_sandbox(settings, server, tour=tour, terminal=terminal))
    return 0


def sync_commands(args: argparse.Namespace, settings: Settings) -> int:
    """Overwrite Discord's copy of the slash commands with this version's, then exit."""
    configure_logging(settings)
    settings.require("discord_token")
    with database_url(settings) as url:
        asyncio.run(_sync_commands(settings, url))
    print("slash commands synced with Discord")
    return 0


async def _sync_commands(settings: Settings, url: str) -> None:
    async with open_pool(settings, url) as pool:
        await bootstrap.sync_commands(settings, pool)


async def until_signal(main: AsyncIterator[object]) -> None:
    """Drive ``main`` (an async generator that yields once it is up) until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with contextlib.aclosing(main):
            async for _ in main:
                await stop.wait()
                break


async def serve(
    settings: Settings, url: str, *, with_web: bool, host: str = DEFAULT_HOST
) -> AsyncIterator[Running]:
    """Open the pool, then everything :func:`bootstrap.serve` starts; yields once it is up."""
    async with open_pool(settings, url) as pool:
        async for running in bootstrap.serve(settings, pool, with_web=with_web, host=host):
            yield running
