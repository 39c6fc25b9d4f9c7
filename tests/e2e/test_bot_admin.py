"""Admin commands, the "linked" DM, the digest's DM adapter and a dropped gateway connection."""

from __future__ import annotations

import pytest

from bot.dm_sender import DiscordDMSender
from soundsync_core.repositories import app_state, runs
from soundsync_core.services import members
from soundsync_core.services.digest import DMClosedError
from soundsync_core.services.notifications import LinkEvent, notify_link
from tests.e2e.bot_fixtures import Running, running_soundsync  # noqa: F401

STAGE_DEADLINE = 60.0


async def test_recluster_edits_its_progress_message_and_switches_a_run_live(sync: Running) -> None:
    await sync.seed(clustered=False)
    interaction = await sync.command(sync.world.admin, "recluster")
    assert (await interaction.response()).type == 5
    assert interaction.original is not None
    # A stage may run for long between two edits: the first recluster of a fresh checkout compiles
    # the numba kernels (taste/kernels.py) inside one stage, and that took over 5 s on a CI host.
    # The deadline only catches a run that never ends; it does not time the stages.
    message = await sync.fake.wait_for_edit(interaction.original.id, edits=2, timeout=STAGE_DEADLINE)
    while "finished" not in message.content:
        message = await sync.fake.wait_for_edit(message.id, edits=message.edits + 1, timeout=STAGE_DEADLINE)
    assert message.content.startswith("✅ Recluster finished: run ")
    assert "8 members" in message.content
    assert message.ephemeral
    assert await sync.pool.fetchval("SELECT run_id FROM live_runs WHERE scope_id = $1", sync.guild_id)


async def test_recluster_is_refused_to_a_member_without_manage_server(sync: Running) -> None:
    await sync.seed(clustered=False)
    stored = next(c for c in sync.fake.commands.global_commands if c["name"] == "recluster")
    assert stored["default_member_permissions"] == str(1 << 5)  # MANAGE_GUILD
    interaction = await sync.command(sync.world.member, "recluster")
    assert (await interaction.response()).type == 5  # deferred before any check
    answer = await interaction.next_followup()
    assert "Manage Server permission" in answer.content
    assert answer.ephemeral
    assert (await sync.next_failure()).expected
    assert await sync.pool.fetchval("SELECT count(*) FROM cluster_runs") == 0


async def test_recluster_while_another_runs_says_it_is_busy(sync: Running) -> None:
    await sync.seed(clustered=False)
    async with sync.pool.acquire() as holder:
        assert await runs.try_lock_recluster(holder)
        try:
            answer = await sync.answer(await sync.command(sync.world.admin, "recluster"))
        finally:
            await runs.unlock_recluster(holder)
    assert "already running" in answer.content
    assert (await sync.next_failure()).expected


async def test_stats_show_sources_last_run_and_development_mode(sync: Running) -> None:
    await sync.seed()
    await app_state.set_fact(sync.pool, app_state.SPOTIFY_AUDIO_FEATURES, {"forbidden": True})
    answer = await sync.answer(await sync.command(sync.world.admin, "soundsync-stats"))
    fields = {f["name"]: f["value"] for f in answer.embeds[0]["fields"]}
    assert fields["Linked members by source"] == "import: 8"
    assert fields["Linked members here"] == "8"
    assert "8 members" in fields["Last recluster"]
    assert fields["Spotify app mode"].startswith("development")


async def test_digest_channel_is_stored_for_the_guild(sync: Running) -> None:
    answer = await sync.answer(await sync.command(
        sync.world.admin, "digest-channel", {"channel": sync.world.channel.id}
    ))
    assert f"<#{sync.world.channel.id}>" in answer.content
    stored = await sync.pool.fetchval(
        "SELECT digest_channel_id FROM guilds WHERE guild_id = $1", sync.guild_id
    )
    assert stored == sync.world.channel.id


async def test_link_notification_from_the_web_side_dms_the_member(sync: Running) -> None:
    async with sync.pool.acquire() as conn, conn.transaction():
        await notify_link(conn, LinkEvent(sync.world.member.id, sync.guild_id, "spotify"))
    dm = await sync.fake.next_dm(sync.world.member.id)
    assert dm.content.startswith("Your Spotify account is linked!")


async def test_digest_sender_delivers_and_reports_closed_dms(sync: Running) -> None:
    sender = DiscordDMSender(sync.bot)
    payload = {
        "period": "2026-W10", "scope": {"id": str(sync.guild_id), "name": "Listening Club"},
        "matches": [{"user_id": "1", "name": "Dee", "percent": 91, "reasons": ["You both love Monk"]}],
        "marker": "SoundSync weekly digest · 2026-W10", "nonce": "ssd-1",
    }
    await sender.send_dm(sync.world.member.id, payload)
    dm = await sync.fake.next_dm(sync.world.member.id)
    assert dm.content == payload["marker"]
    assert dm.embeds[0]["fields"][0]["name"] == "Dee — 91 %"
    with pytest.raises(DMClosedError):
        await sender.send_dm(sync.world.closed_dms_user.id, payload)


async def test_dropped_gateway_is_resumed_and_commands_keep_working(sync: Running) -> None:
    await sync.seed()
    await sync.fake.drop_gateway()
    # Sent while the bot is away: replayed on RESUME.
    interaction = await sync.command(sync.world.member, "settings", {"weekly_dm": True})
    await sync.fake.wait_gateway_live()
    answer = await sync.answer(interaction)
    assert {f["name"]: f["value"] for f in answer.embeds[0]["fields"]}["Weekly DM"] == "on"
    assert (sync.fake.gateway.identifies, sync.fake.gateway.resumes) == (1, 1)
    later = await sync.answer(await sync.command(sync.world.member, "profile"))
    assert later.embeds[0]["title"] == "Bob's taste"
    assert (await members.member_settings(sync.pool, sync.world.member.id)).weekly_dm
