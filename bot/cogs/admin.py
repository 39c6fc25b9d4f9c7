"""Admin commands: ``/recluster``, ``/soundsync-stats``, ``/digest-channel`` (Manage Server)."""

from __future__ import annotations

import asyncio
import contextlib

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from soundsync_core.services import members
from soundsync_core.services.recluster import recluster

RECLUSTER_COOLDOWN_SECONDS = 300.0
# Discord rate-limits message edits; one per second keeps the progress live and cheap.
PROGRESS_EDIT_INTERVAL = 1.0
STAGE_WORDS = {
    "loading": "Loading profiles", "vectors": "Building taste vectors",
    "matching": "Finding tribes, ranking and writing matches", "writing": "Indexing the matches",
}


class Progress:
    """Thread-safe progress sink: the recluster reports from its executor thread too."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.latest = "Starting…"
        self.changed = asyncio.Event()

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.loop.call_soon_threadsafe(self._set, stage, done, total)

    def _set(self, stage: str, done: int, total: int) -> None:
        self.latest = f"{STAGE_WORDS.get(stage, stage)}… {done}/{total}"
        self.changed.set()


async def _pump(interaction: discord.Interaction, progress: Progress) -> None:
    while True:
        await progress.changed.wait()
        progress.changed.clear()
        await interaction.edit_original_response(content=f"⏳ Reclustering — {progress.latest}")
        await asyncio.sleep(PROGRESS_EDIT_INTERVAL)


def _guild_name(interaction: discord.Interaction) -> str:
    return interaction.guild.name if interaction.guild else "this server"


class Admin(commands.Cog):
    """Server admins run the community."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="recluster", description="Rebuild this server's tribes and matches now", extras=defer_first()
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.checks.cooldown(1, RECLUSTER_COOLDOWN_SECONDS, key=lambda i: i.guild_id)
    async def recluster(self, interaction: discord.Interaction) -> None:
        await interaction.edit_original_response(content="⏳ Reclustering — starting…")
        progress = Progress(asyncio.get_running_loop())
        pump = asyncio.create_task(_pump(interaction, progress))
        try:
            summary = await recluster(
                self.bot.pool, guild_id=interaction.guild_id, progress=progress,
                runner=self.bot.recluster_runner,
            )
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        await interaction.edit_original_response(content=f"✅ Recluster finished: {summary.text()}")

    @app_commands.command(
        name="soundsync-stats", description="Linked members, last recluster, Spotify mode",
        extras=defer_first(),
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def stats(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # guild_only
        found = await members.community_stats(self.bot.pool, interaction.guild_id)
        await interaction.followup.send(embed=render.stats_embed(_guild_name(interaction), found),
                                        ephemeral=True)

    @app_commands.command(
        name="digest-channel", description="Where the weekly digest is posted", extras=defer_first()
    )
    @app_commands.describe(channel="The channel (leave empty to stop posting the digest)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def digest_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        assert interaction.guild_id is not None  # guild_only
        await members.set_digest_channel(
            self.bot.pool, interaction.guild_id, _guild_name(interaction), channel.id if channel else None
        )
        text = f"The weekly digest will be posted in {channel.mention}." if channel else \
            "The weekly digest will not be posted in this server."
        await interaction.followup.send(text, ephemeral=True)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Admin(bot))
