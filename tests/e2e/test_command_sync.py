"""Slash commands reach Discord when their definition changed, or on ``soundsync sync-commands``."""

from __future__ import annotations

import asyncpg
import discord
import pytest

from bot.bot import SoundSyncBot, command_tree_digest
from soundsync_cli import bootstrap
from soundsync_core.repositories import app_state
from soundsync_fakes.discord import FakeDiscord
from tests.e2e.bot_fixtures import bot_settings
from tests.e2e.discord_harness import running_bot


async def start_and_stop(
    fake: FakeDiscord, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Run the bot until it is ready; the digest of its commands (taken before close unloads them)."""
    bot = SoundSyncBot(pool=pool, settings=bot_settings(fake), vault=None, guild_ready_timeout=0.01)
    async with running_bot(fake, bot, monkeypatch):
        return command_tree_digest(bot.tree)


async def test_a_restart_sends_the_commands_only_when_their_definition_changed(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeDiscord() as fake:
        fake.seed_default_world()
        await start_and_stop(fake, pool, monkeypatch)
        await start_and_stop(fake, pool, monkeypatch)
        assert fake.commands.overwrites == 1
        assert {"matches", "tribes", "Compare taste"} <= {c["name"] for c in fake.commands.listing()}

        # The last sync was of another version's commands: this one sends its own.
        synced = {"application_id": str(fake.world.application_id), "sha256": "0" * 64}
        await app_state.set_fact(pool, app_state.DISCORD_COMMANDS, synced)
        digest = await start_and_stop(fake, pool, monkeypatch)
        assert fake.commands.overwrites == 2
        stored = await app_state.get_fact(pool, app_state.DISCORD_COMMANDS)
        assert stored == {"application_id": str(fake.world.application_id), "sha256": digest}


async def test_sync_commands_sends_them_over_rest_alone_every_time(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    async with FakeDiscord() as fake:
        settings = bot_settings(fake, discord_token=fake.bot_token)
        await bootstrap.sync_commands(settings, pool)
        await bootstrap.sync_commands(settings, pool)
        assert fake.commands.overwrites == 2  # forced: unchanged commands are sent again
        assert fake.gateway.received == []  # no gateway connection
        assert "matches" in {c["name"] for c in fake.commands.listing()}
