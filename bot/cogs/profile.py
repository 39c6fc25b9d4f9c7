"""``/profile [member]``: top artists, tribe, sources and a chart."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from soundsync_core import charts
from soundsync_core.services import member_views
from soundsync_core.services.member_views import ProfileView

CHART_NAME = "profile.png"


async def chart_file(view: ProfileView) -> discord.File:
    """The profile chart rendered off the event loop."""
    png = await asyncio.get_running_loop().run_in_executor(
        None, charts.profile_chart, f"{view.display_name}'s sound", view.audio, view.genre_mix,
        view.top_artists,
    )
    return discord.File(io.BytesIO(png), filename=CHART_NAME)


class Profile(commands.Cog):
    """A member's taste profile."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="profile", description="Show a taste profile (yours by default)", extras=defer_first()
    )
    @app_commands.describe(member="Whose profile to show")
    async def profile(self, interaction: discord.Interaction, member: discord.User | None = None) -> None:
        target = member or interaction.user
        view = await member_views.profile_view(
            self.bot.pool, interaction.user.id, target.id, interaction.guild_id
        )
        embed = render.profile_embed(view, CHART_NAME, self.bot.sources.label)
        await interaction.followup.send(embed=embed, file=await chart_file(view), ephemeral=True)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Profile(bot))
