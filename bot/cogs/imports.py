"""``/import-history``: a member uploads their Spotify data export instead of linking.

No Spotify API is involved, so the development-mode cap of 5 allowlisted users does not apply.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from bot.errors import BotRefusal
from soundsync_core.services.export_import import ExportImportSummary, import_spotify_export
from soundsync_core.sources.spotify_export import check_export_size

AFTER_IMPORT = (
    "Your matches will include this after the next recluster — or right away via /matches "
    "(scored live)."
)
KIND_WORDS = {"extended": "extended streaming history", "account": "account data"}


def import_embed(summary: ExportImportSummary) -> discord.Embed:
    """The private confirmation: what was counted, what was kept, the top 5 artists."""
    embed = discord.Embed(title="Listening history imported", description=AFTER_IMPORT,
                          colour=render.COLOUR)
    top = "\n".join(f"{i}. {name}" for i, name in enumerate(summary.top_artists, 1))
    embed.add_field(name="Top artists", value=top or "—", inline=False)
    embed.add_field(
        name="Counted",
        value=f"{summary.plays_counted:,} plays of 30 s or more, "
              f"{summary.first_play:%d %b %Y} – {summary.last_play:%d %b %Y} "
              f"(the last 12 months of your {KIND_WORDS.get(summary.kind, 'export')}), "
              "ranked by listening time",
        inline=False,
    )
    embed.add_field(
        name="Kept",
        value=f"Your top {summary.artists} artists and {summary.tracks} tracks with play counts "
              f"({summary.catalogue_artists} artists known from other members' Spotify). "
              "The raw history is not stored.",
        inline=False,
    )
    return render.fit(embed)


class Imports(commands.Cog):
    """Listening sources a member brings as a file."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="import-history", description="Use your Spotify data export (ZIP or JSON) as a listening source",
        extras=defer_first(),
    )
    @app_commands.describe(
        file="my_spotify_data.zip from Spotify's privacy settings, or a StreamingHistory JSON file"
    )
    # Each import parses up to hundreds of MB of JSON: a member cannot queue them up.
    @app_commands.checks.cooldown(3, 60.0, key=lambda interaction: interaction.user.id)
    async def import_history(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        check_export_size(file.size)  # before downloading anything
        summary = await import_spotify_export(
            self.bot.pool, interaction.user.id, await _download(file), filename=file.filename,
            guild_id=interaction.guild_id, display_name=interaction.user.display_name,
        )
        await interaction.followup.send(embed=import_embed(summary), ephemeral=True)


async def _download(file: discord.Attachment) -> bytes:
    try:
        return await file.read()
    except discord.HTTPException as exc:
        raise BotRefusal("Discord did not hand over the file; please upload it again.") from exc


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Imports(bot))
