"""Run a real discord.py bot against :class:`FakeDiscord` (shared by the end-to-end tests).

Usage in a test module (pytest-asyncio, session loop)::

    async def test_x(monkeypatch):
        async with FakeDiscord() as fake:
            world = fake.seed_default_world()
            bot = make_bot()
            errors = record_tree_errors(bot)
            async with running_bot(fake, bot, monkeypatch):
                interaction = await fake.slash_command(world.member.id, world.guild.id, "ping")
                callback = await interaction.response()
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from soundsync_fakes.discord import FakeDiscord


def point_discord_py_at(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send discord.py's REST calls and gateway connection to the fake (undone after the test)."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))


def make_bot(bot_class: type[commands.Bot] = commands.Bot, **options: Any) -> commands.Bot:
    """A bot with default intents that does not wait 2 s for guilds before ``on_ready``."""
    options.setdefault("command_prefix", commands.when_mentioned)
    options.setdefault("intents", discord.Intents.default())
    options.setdefault("guild_ready_timeout", 0.01)
    return bot_class(**options)


class TreeErrors:
    """App-command errors the bot hit (discord.py only logs them, so a test would just time out)."""

    def __init__(self) -> None:
        self.errors: list[app_commands.AppCommandError] = []
        self._changed = asyncio.Event()

    def add(self, error: app_commands.AppCommandError) -> None:
        """Record one error (called by the tree's error handler)."""
        self.errors.append(error)
        self._changed.set()

    async def next(self, timeout: float = 2.0) -> app_commands.AppCommandError:  # noqa: ASYNC109
        """Take the oldest recorded error out of the log, waiting for one."""
        async with asyncio.timeout(timeout):
            while not self.errors:
                self._changed.clear()
                await self._changed.wait()
        return self.errors.pop(0)


def record_tree_errors(bot: commands.Bot) -> TreeErrors:
    """Install a ``tree.error`` handler that records every app-command error."""
    errors = TreeErrors()

    @bot.tree.error
    async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        errors.add(error)

    return errors


async def _ready_or_failed(bot: commands.Bot, task: asyncio.Task[None]) -> None:
    ready = asyncio.ensure_future(bot.wait_until_ready())
    await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # re-raise why the bot stopped (e.g. LoginFailure)
        raise RuntimeError("the bot stopped before it was ready")


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    bot: commands.Bot,
    monkeypatch: pytest.MonkeyPatch,
    ready_timeout: float = 5.0,
) -> AsyncIterator[commands.Bot]:
    """Start ``bot`` against ``fake``, wait for ``on_ready``, and close it cleanly afterwards."""
    point_discord_py_at(fake, monkeypatch)
    task = asyncio.create_task(bot.start(fake.bot_token), name="bot-under-test")
    try:
        async with asyncio.timeout(ready_timeout):
            await _ready_or_failed(bot, task)
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=ready_timeout)
