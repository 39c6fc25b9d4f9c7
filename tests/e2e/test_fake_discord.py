"""The fake Discord against the real discord.py: a throwaway bot exercises every seam we rely on."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_state import DefaultWorld
from tests.e2e.discord_harness import TreeErrors, make_bot, record_tree_errors, running_bot


def tiny_png() -> bytes:
    """A valid 1×1 PNG, built here so the test carries no binary fixture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


class VoteView(discord.ui.View):
    """Two buttons; a click edits the message to show the choice."""

    @discord.ui.button(label="Yes", custom_id="vote:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=f"{interaction.user.name} voted yes", view=None)

    @discord.ui.button(label="No", custom_id="vote:no")
    async def no(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=f"{interaction.user.name} voted no", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A one-field modal that thanks the user with what they typed."""

    text: discord.ui.TextInput = discord.ui.TextInput(label="Your thoughts", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


@dataclass
class Events:
    """What the throwaway bot observed."""

    resumed: int = 0
    dm_refused: list[discord.Forbidden] = field(default_factory=list)


class TinyBot(commands.Bot):
    """A throwaway bot covering replies, deferral, files, buttons, menus, DMs and errors."""

    def __init__(self, events: Events, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.events = events
        self._add_commands()

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_resumed(self) -> None:
        self.events.resumed += 1

    def _add_commands(self) -> None:
        tree, events = self.tree, self.events

        @tree.command(description="Answer only to you")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"pong {interaction.user.name}", ephemeral=True)

        @tree.command(description="A slow report with a chart")
        async def report(interaction: discord.Interaction, artist: str) -> None:
            await interaction.response.defer(thinking=True)
            embed = discord.Embed(title=f"Report on {artist}", description="Listening summary")
            embed.add_field(name="Plays", value="42")
            chart = discord.File(io.BytesIO(tiny_png()), filename="chart.png")
            await interaction.followup.send(embed=embed, file=chart)

        @tree.command(description="Vote with buttons")
        async def vote(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Do you like jazz?", view=VoteView())

        @tree.command(description="DM a member")
        async def notify(interaction: discord.Interaction, member: discord.Member) -> None:
            try:
                await member.send("Your tribe changed")
            except discord.Forbidden as error:
                events.dm_refused.append(error)
                await interaction.response.send_message("their DMs are closed", ephemeral=True)
                return
            await interaction.response.send_message("sent", ephemeral=True)

        @tree.command(description="Send an embed over Discord's limits")
        async def huge(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(embed=discord.Embed(title="x" * 300))

        @tree.command(description="Tell us what you think")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(description="Work in steps")
        async def steps(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="started")
            step = await interaction.followup.send("step 1", wait=True)
            await step.edit(content="step 2")

        @tree.context_menu(name="Taste profile")
        async def profile(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"profile of {member.display_name}")


@dataclass
class Running:
    """A started fake, its seeded world, and the bot connected to it."""

    fake: FakeDiscord
    world: DefaultWorld
    bot: TinyBot
    events: Events
    errors: TreeErrors


@pytest.fixture
async def running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Running]:
    async with FakeDiscord(log_path=tmp_path / "discord.jsonl") as fake:
        world = fake.seed_default_world()
        events = Events()
        bot = make_bot(TinyBot, events=events)
        assert isinstance(bot, TinyBot)
        errors = record_tree_errors(bot)
        async with running_bot(fake, bot, monkeypatch):
            yield Running(fake, world, bot, events, errors)
        assert errors.errors == [], "the bot hit errors no test expected"


async def test_bot_sees_the_seeded_guild_and_syncs_its_commands(running: Running, tmp_path: Path) -> None:
    guild = running.bot.get_guild(running.world.guild.id)
    assert guild is not None
    assert guild.name == "Listening Club"
    assert guild.get_channel(running.world.channel.id) is not None
    stored = {(c["type"], c["name"]) for c in running.fake.commands.global_commands}
    names = ("ping", "report", "vote", "notify", "huge", "feedback", "steps")
    chat_input = {(1, name) for name in names}
    assert stored == chat_input | {(2, "Taste profile")}
    logged = [json.loads(line) for line in (tmp_path / "discord.jsonl").read_text().splitlines()]
    sync = next(entry for entry in logged if entry["method"] == "PUT")
    assert (sync["service"], sync["status"]) == ("discord", 200)
    assert {c["name"] for c in sync["request"]} == {name for _, name in stored}


async def test_ephemeral_reply(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(world.member.id, world.guild.id, "ping")
    callback = await interaction.response()
    assert callback.type == 4
    assert interaction.original is not None
    assert interaction.original.ephemeral
    assert interaction.original.content == "pong bob"
    assert running.fake.messages(world.channel.id) == []  # ephemeral: not in the channel


async def test_defer_then_followup_with_embed_and_png(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(
        world.admin.id, world.guild.id, "report", options={"artist": "Radiohead"}
    )
    assert (await interaction.response()).type == 5
    followup = await interaction.next_followup()
    assert followup.embeds[0]["title"] == "Report on Radiohead"
    assert followup.embeds[0]["fields"] == [{"name": "Plays", "value": "42", "inline": True}]
    assert [a.filename for a in followup.attachments] == ["chart.png"]
    assert followup.attachments[0].content == tiny_png()
    assert running.fake.messages(world.channel.id) == [interaction.original, followup]


async def test_button_click_edits_the_message(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(world.member.id, world.guild.id, "vote")
    await interaction.response()
    message = await running.fake.next_message(world.channel.id)
    assert message.custom_ids() == ["vote:yes", "vote:no"]
    click = await running.fake.click_button(world.admin.id, message, "vote:yes")
    assert (await click.response()).type == 7
    edited = running.fake.message(message.id)
    assert edited.content == "ada voted yes"
    assert edited.components == []
    assert edited.edits == 1


async def test_user_context_menu_gets_the_target(running: Running) -> None:
    world = running.world
    interaction = await running.fake.user_context_menu(
        world.admin.id, world.guild.id, "Taste profile", world.member.id
    )
    await interaction.response()
    assert interaction.original is not None
    assert interaction.original.content == "profile of Bob"


async def test_dm_to_closed_user_is_forbidden_50007(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(
        world.admin.id, world.guild.id, "notify", options={"member": world.closed_dms_user.id}
    )
    await interaction.response()
    [refused] = running.events.dm_refused
    assert (refused.status, refused.code) == (403, 50007)
    assert running.fake.dm_messages(world.closed_dms_user.id) == []


async def test_dm_to_open_user_arrives(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(
        world.admin.id, world.guild.id, "notify", options={"member": world.member.id}
    )
    dm = await running.fake.next_dm(world.member.id)
    assert dm.content == "Your tribe changed"
    assert (await interaction.response()).data["content"] == "sent"


async def test_over_limit_embed_is_rejected_50035(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(world.member.id, world.guild.id, "huge")
    error = await running.errors.next()
    assert interaction.callback is None
    assert isinstance(error, app_commands.CommandInvokeError)
    original = error.original
    assert isinstance(original, discord.HTTPException)
    assert (original.status, original.code) == (400, 50035)
    assert "In data.embeds.0.title: Must be 256 or fewer in length." in original.text


async def test_rate_limited_send_is_retried_when_via_is_present(running: Running) -> None:
    world = running.world
    rule = running.fake.rate_limit("POST", "/channels/{channel_id}/messages", count=2, retry_after=0.02)
    channel = running.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("after the storm")
    assert rule.remaining == 0
    assert len(running.fake.faults.rate_limited) == 2
    assert [m.id for m in running.fake.messages(world.channel.id)] == [sent.id]


async def test_dropped_gateway_resumes_and_delivers_later_events(running: Running) -> None:
    world, fake = running.world, running.fake
    await fake.drop_gateway()
    # Dispatched while the bot is away: kept for the RESUME replay.
    interaction = await fake.slash_command(world.member.id, world.guild.id, "ping")
    await fake.wait_gateway_live()
    assert (await interaction.response()).data["content"] == "pong bob"
    assert (fake.gateway.identifies, fake.gateway.resumes) == (1, 1)
    resume = next(p for p in fake.gateway.received if p["op"] == 6)
    assert resume["d"]["session_id"] == fake.gateway.current.session_id
    later = await fake.slash_command(world.admin.id, world.guild.id, "ping")
    assert (await later.response()).data["content"] == "pong ada"
    assert running.events.resumed == 1


async def test_slash_command_in_dm(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(world.member.id, None, "ping")
    assert (await interaction.response()).data["content"] == "pong bob"
    assert "user" in interaction.payload
    assert "member" not in interaction.payload


async def test_modal_opens_and_its_submission_is_answered(running: Running) -> None:
    world = running.world
    opened = await running.fake.slash_command(world.member.id, world.guild.id, "feedback")
    callback = await opened.response()
    assert callback.type == 9
    assert callback.data["title"] == "Feedback"
    submitted = await running.fake.submit_modal(opened, {"feedback:text": "more jazz"})
    assert (await submitted.response()).data["content"] == "thanks: more jazz"


async def test_deferred_original_and_followup_edits(running: Running) -> None:
    world = running.world
    interaction = await running.fake.slash_command(world.member.id, world.guild.id, "steps")
    assert (await interaction.response()).type == 5
    step = await interaction.next_followup()
    await running.fake.wait_for_edit(step.id)
    assert step.content == "step 2"
    original = interaction.original
    assert original is not None
    assert (original.content, original.ephemeral, original.data["flags"] & 128) == ("started", True, 0)
