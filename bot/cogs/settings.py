"""``/settings``: weekly DM on/off and who may see you."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from soundsync_core.services import members


class Settings(commands.Cog):
    """The member's own choices."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="settings", description="Show or change your SoundSync settings",
        extras=defer_first(),
    )
    @app_commands.describe(
        weekly_dm="Get your new matches by DM once a week",
        visibility="server: members of your servers · global: everyone · hidden: nobody",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        weekly_dm: bool | None = None,
        visibility: Literal["server", "global", "hidden"] | None = None,
    ) -> None:
        if weekly_dm is None and visibility is None:
            current = await members.member_settings(self.bot.pool, interaction.user.id)
        else:
            current = await members.update_settings(
                self.bot.pool, interaction.user.id, weekly_dm=weekly_dm, visibility=visibility
            )
        await interaction.followup.send(embed=render.settings_embed(current), ephemeral=True)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Settings(bot))
