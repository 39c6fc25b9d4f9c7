"""``soundsync bot`` / ``run`` / ``sandbox`` / ``sync-commands`` parse; discord.py follows the settings."""

from __future__ import annotations

import argparse
from typing import cast

import asyncpg
import discord
import pytest
import yarl

from bot.bot import IDENTIFY_INTERVAL
from soundsync_cli import bootstrap, bot_commands
from soundsync_core.settings import ConfigError, load_settings


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="soundsync")
    bot_commands.register(root.add_subparsers(dest="command", required=True))
    return root


def test_bot_and_run_commands_are_registered() -> None:
    assert parser().parse_args(["bot"]).handler is bot_commands.run_bot
    run = parser().parse_args(["run", "--sandbox", "--host", "127.0.0.1"])
    assert (run.handler, run.sandbox, run.host) == (bot_commands.run_all, True, "127.0.0.1")
    assert parser().parse_args(["run"]).sandbox is False
    sandbox = parser().parse_args(["sandbox", "--tour"])
    assert (sandbox.handler, sandbox.tour) == (bot_commands.run_sandbox_terminal, True)
    assert parser().parse_args(["sandbox"]).tour is False


def test_discord_urls_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    settings = load_settings(_env_file=None, discord_api_url="http://127.0.0.1:9/api/v10",
                             discord_gateway_url="ws://127.0.0.1:9/gateway")
    bootstrap.point_discord_py_at(settings)
    assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
    assert yarl.URL("ws://127.0.0.1:9/gateway") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def test_bot_without_a_token_is_a_configuration_error() -> None:
    settings = load_settings(_env_file=None, discord_token=None)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        bot_commands.run_bot(argparse.Namespace(), settings)


def test_sync_commands_is_registered_and_needs_a_token() -> None:
    assert parser().parse_args(["sync-commands"]).handler is bot_commands.sync_commands
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        bot_commands.sync_commands(argparse.Namespace(), load_settings(_env_file=None))


def test_shards_identify_one_per_five_seconds_per_bucket() -> None:
    bot = bootstrap.build_bot(load_settings(_env_file=None), cast(asyncpg.Pool, None))
    bot.identify_buckets = 2
    # Shards 0 and 1 share a slot (two buckets); 2 and 3 wait for the next; a re-identify after.
    delays = [bot.identify_delay(shard, now=100.0) for shard in (0, 1, 2, 3)]
    assert delays == [0.0, 0.0, IDENTIFY_INTERVAL, IDENTIFY_INTERVAL]
    assert bot.identify_delay(0, now=101.0) == 2 * IDENTIFY_INTERVAL - 1.0
    assert bot.identify_delay(1, now=200.0) == 0.0
