"""``/tribes``: the server's taste tribes and its taste map."""

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
from soundsync_core.services.community_views import guild_tribes

MAP_NAME = "taste-map.png"


class Tribes(commands.Cog):
    """The community's shape."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="tribes", description="This server's taste tribes and taste map",
        extras=defer_first(ephemeral=False),
    )
    @app_commands.guild_only()
    async def tribes(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # guild_only
        found = await guild_tribes(self.bot.pool, interaction.guild_id)
        points = await member_views.taste_map(self.bot.pool, interaction.guild_id)
        guild_name = interaction.guild.name if interaction.guild else "this server"
        png = await asyncio.get_running_loop().run_in_executor(
            None, charts.taste_map_chart, f"Taste map of {guild_name}", points.points, points.tribe_names
        )
        embed = render.tribes_embed(guild_name, found, MAP_NAME)
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), MAP_NAME))


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Tribes(bot))
