"""``/compare member`` and the user context menu "Compare taste"."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from soundsync_core.services import member_views


class Compare(commands.Cog):
    """Two profiles side by side."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot
        # discord.py cannot declare context menus inside a cog: build and register it here.
        self.menu = app_commands.ContextMenu(
            name="Compare taste", callback=self.compare_menu, extras=defer_first()
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def _compare(self, interaction: discord.Interaction, other: discord.abc.User) -> None:
        comparison = await member_views.compare(
            self.bot.pool, interaction.user.id, other.id, interaction.guild_id
        )
        await interaction.followup.send(embed=render.compare_embed(comparison), ephemeral=True)

    @app_commands.command(
        name="compare", description="Compare your taste with another member", extras=defer_first()
    )
    @app_commands.describe(member="Who to compare with")
    async def compare(self, interaction: discord.Interaction, member: discord.User) -> None:
        await self._compare(interaction, member)

    async def compare_menu(self, interaction: discord.Interaction, member: discord.User) -> None:
        """Right-click a member → Apps → Compare taste."""
        await self._compare(interaction, member)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Compare(bot))
