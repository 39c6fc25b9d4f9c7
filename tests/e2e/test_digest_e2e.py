"""The weekly digest through a real discord.py client and the fake Discord, crash included."""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from bot.dm_sender import DiscordDMSender
from soundsync_core.services.digest import dm_marker, fill_outbox
from soundsync_core.services.digest_delivery import drain_outbox
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import recluster
from soundsync_fakes.discord import FakeDiscord
from tests.e2e.discord_harness import make_bot, running_bot
from tests.integration.community_data import member_line
from tests.integration.digest_doubles import ProcessDied, fast_pacer

PERIOD = "2026-W48"


class CrashAfterSending(DiscordDMSender):
    """Discord accepts the DM to ``victim``, then the process dies before recording it."""

    def __init__(self, client: Any, victim: int) -> None:
        super().__init__(client)
        self.victim = victim

    async def send_dm(self, user_id: int, payload: dict[str, Any]) -> None:
        await super().send_dm(user_id, payload)
        if user_id == self.victim:
            raise ProcessDied


async def _seed(pool: asyncpg.Pool, guild_id: int, opted_in: list[int], channel_id: int) -> None:
    """The fake world's members plus 26 listeners who only appear as matches."""
    rng = random.Random(3)
    groups = ["metal", "jazz", "kpop"]
    lines = [member_line(u, "metal", [guild_id], rng) for u in opted_in]
    lines += [member_line(9000 + i, groups[i % 3], [guild_id], rng) for i in range(26)]
    await import_profiles(pool, lines)
    await recluster(pool)
    await pool.execute("UPDATE members SET weekly_dm = true WHERE user_id = ANY($1::bigint[])", opted_in)
    await pool.execute("INSERT INTO guilds (guild_id, name, digest_channel_id) VALUES ($1, $2, $3)",
                       guild_id, "Listening Club", channel_id)


async def _drain(pool: asyncpg.Pool, sender: DiscordDMSender) -> Any:
    return await drain_outbox(pool, sender, rate_per_second=5, pacer=fast_pacer(5))


async def test_weekly_digest_survives_a_crash_mid_send(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeDiscord() as fake:
        world = fake.seed_default_world()
        dee = fake.world.add_user("dee", global_name="Dee")
        fake.world.add_member(world.guild.id, dee.id)
        opted_in = [world.admin.id, world.member.id, world.closed_dms_user.id, dee.id]
        await _seed(pool, world.guild.id, opted_in, world.channel.id)
        assert (await fill_outbox(pool, PERIOD)).written == 4

        async with running_bot(fake, make_bot(), monkeypatch) as bot:
            with pytest.raises(ProcessDied):
                await _drain(pool, CrashAfterSending(bot, victim=world.member.id))
        # A new process: new client, same Discord, same database.
        async with running_bot(fake, make_bot(), monkeypatch) as bot:
            report = await _drain(pool, DiscordDMSender(bot))

        assert report.confirmed == 1  # Bob's DM was found in his DM channel, not sent again
        assert report.dm_closed == 1
        for user in (world.admin.id, world.member.id, dee.id):
            dms = fake.dm_messages(user)
            assert len(dms) == 1
            assert dm_marker(PERIOD) in dms[0].content  # what already_sent looks for
            fields = dms[0].embeds[0]["fields"]
            assert fields
            assert all("%" in field["name"] for field in fields)
        assert fake.dm_messages(world.closed_dms_user.id) == []
        statuses = dict(await pool.fetch("SELECT user_id, status FROM dm_outbox"))
        assert statuses == {world.admin.id: "sent", world.member.id: "sent", dee.id: "sent",
                            world.closed_dms_user.id: "dm_closed"}

        posts = fake.messages(world.channel.id)
        assert len(posts) == 1
        assert f"<@{world.closed_dms_user.id}>" in str(posts[0].embeds[0])
