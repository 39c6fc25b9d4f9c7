"""The sharded gateway: Discord's recommended count, shard ranges over processes, close 4011.

Each "process" is :func:`soundsync_cli.bootstrap.serve` (bot + scheduler) as ``soundsync bot``
runs it; two of them share one event loop here and point at the same fake Discord, as two
worker processes would. The 4011 case runs the real ``soundsync bot`` command in a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import discord
import pytest

from soundsync_cli import bootstrap
from soundsync_cli.bootstrap import Running
from soundsync_core.services import connections
from soundsync_core.services.importer import import_profiles
from soundsync_core.settings import Settings
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_gateway import SHARDING_REQUIRED
from soundsync_fakes.discord_state import FakeGuild, FakeUser
from tests.e2e.bot_fixtures import JAZZ, bot_settings, profile_line


@pytest.fixture(autouse=True)
def restore_discord_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """bootstrap.serve points discord.py's process-wide URLs at the fake; undo it afterwards."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def guilds_on_every_shard(fake: FakeDiscord, shard_count: int, per_shard: int) -> list[FakeGuild]:
    """``per_shard`` guilds on each shard (ids one millisecond apart), each with a #general."""
    first = fake.world.snowflakes.next() >> 22
    guilds = []
    for i in range(shard_count * per_shard):
        guild = fake.world.add_guild(f"Club {i}", guild_id=(first + i) << 22 | 1 << 16)
        fake.world.add_text_channel(guild.id, "general")
        guilds.append(guild)
    assert {shard_of(g.id, shard_count) for g in guilds} == set(range(shard_count))
    return guilds


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def add_to_every_guild(fake: FakeDiscord, name: str, guilds: list[FakeGuild]) -> FakeUser:
    user = fake.world.add_user(name, global_name=name.title())
    for guild in guilds:
        fake.world.add_member(guild.id, user.id)
    return user


def settings_for(fake: FakeDiscord, **overrides: object) -> Settings:
    return bot_settings(fake, discord_token=fake.bot_token, **overrides)


@contextlib.asynccontextmanager
async def process(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Running]:
    """One ``soundsync bot`` worth of objects (bot + scheduler), until the block ends."""
    serving = bootstrap.serve(settings, pool, with_web=False)
    try:
        yield await anext(serving)
    finally:
        await serving.aclose()


def interactions_seen(bot: discord.Client) -> list[int]:
    """Ids of the interactions this bot receives from the gateway, in order."""
    seen: list[int] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(interaction.id)

    bot.add_listener(on_interaction)
    return seen


async def test_without_shard_count_the_bot_runs_the_recommended_shards(
    pool: asyncpg.Pool,
) -> None:
    async with FakeDiscord() as fake:
        fake.gateway.recommended_shards = 2
        fake.gateway.max_concurrency = 2
        guilds = guilds_on_every_shard(fake, 2, per_shard=2)
        ada = add_to_every_guild(fake, "ada", guilds)
        async with process(settings_for(fake), pool) as running:
            bot = running.bot
            assert (bot.shard_count, sorted(bot.shards)) == (2, [0, 1])
            identified = sorted(p["d"]["shard"] for p in fake.gateway.received if p["op"] == 2)
            assert identified == [[0, 2], [1, 2]]
            assert {g.id for g in bot.guilds} == {g.id for g in guilds}
            seen = interactions_seen(bot)
            asked = [await fake.slash_command(ada.id, guild.id, "tribes") for guild in guilds]
            for interaction in asked:
                await interaction.response()
            assert sorted(seen) == sorted(i.id for i in asked)


async def test_two_processes_with_two_shards_each_answer_everything_exactly_once(
    pool: asyncpg.Pool,
) -> None:
    async with FakeDiscord() as fake:
        fake.gateway.max_concurrency = 4
        guilds = guilds_on_every_shard(fake, 4, per_shard=2)
        ada, bob, cyd = (add_to_every_guild(fake, name, guilds) for name in ("ada", "bob", "cyd"))
        lines = [profile_line(user, guilds[0].id, JAZZ) for user in (ada, bob, cyd)]
        report = await import_profiles(pool, lines)
        assert not report.rejected
        first = settings_for(fake, shard_count=4, shard_ids="0-1")
        second = settings_for(fake, shard_count=4, shard_ids="2,3")
        async with process(first, pool) as one, process(second, pool) as two:
            assert (sorted(one.bot.shards), sorted(two.bot.shards)) == ([0, 1], [2, 3])
            assert fake.commands.overwrites == 1  # the second process found them unchanged
            seen = {0: interactions_seen(one.bot), 2: interactions_seen(two.bot)}

            in_guilds = {}
            for guild in guilds:
                interaction = await fake.slash_command(ada.id, guild.id, "tribes")
                await interaction.response()
                in_guilds[interaction.id] = shard_of(guild.id, 4)

            # Each process sends a say-hi DM; every click on its buttons comes to shard 0.
            in_dms = []
            for sender, (asker, asked) in ((two.bot, (ada, bob)), (one.bot, (bob, cyd))):
                await connections.say_hi(pool, asker.id, asked.id, guild_id=guilds[0].id,
                                         score=0.9, from_handle=asker.username)
                await sender.hi_answers.send_request(sender, asked.id, asker.username, 0.9, asker.id)
                request = await fake.next_dm(asked.id)
                click = await fake.click_button(asked.id, request, f"hi:accept:{asker.id}")
                assert (await click.response()).type == 7  # the DM was edited in place
                in_dms.append(click.id)

            await asyncio.sleep(0.05)  # a duplicate delivery would arrive by now
            expected = {
                0: sorted([i for i, shard in in_guilds.items() if shard < 2] + in_dms),
                2: sorted(i for i, shard in in_guilds.items() if shard >= 2),
            }
            assert {first_shard: sorted(ids) for first_shard, ids in seen.items()} == expected
            assert all(len(ids) == len(set(ids)) for ids in seen.values())


async def test_an_unsharded_bot_in_2600_guilds_is_told_to_shard(
    db_url: str, tmp_path: Path
) -> None:
    async with FakeDiscord() as fake:
        for i in range(2600):
            fake.world.add_guild(f"Guild {i}")
        env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
        env |= {
            "DATABASE_URL": db_url, "DISCORD_TOKEN": fake.bot_token, "SHARD_COUNT": "1",
            "DISCORD_API_URL": fake.api_url, "DISCORD_GATEWAY_URL": fake.gateway_url,
        }
        command = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "soundsync_cli", "bot", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(command.communicate(), 120)
    assert command.returncode == 1, stderr.decode()
    assert fake.gateway.refused == [((0, 1), SHARDING_REQUIRED)]
    assert stderr.decode().splitlines()[-1] == (
        "soundsync: Discord requires sharding: shard 0 of 1 would hold more than 2,500 guilds; "
        "raise SHARD_COUNT, or leave it unset to use Discord's recommendation"
    )
