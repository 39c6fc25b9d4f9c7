"""``/matches [scope]``: paginated matches with Say hi / Already friends / Not interested."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from bot.errors import BotRefusal
from bot.views import MatchPager
from soundsync_core.services.matches import matches_for

MATCHES_SHOWN = 20


class Matches(commands.Cog):
    """The member's best matches."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="matches", description="Your best taste matches", extras=defer_first()
    )
    @app_commands.describe(scope="This server's members, or everyone who opted into global matches")
    async def matches(
        self, interaction: discord.Interaction, scope: Literal["server", "global"] = "server"
    ) -> None:
        guild_id = interaction.guild_id if scope == "server" else None
        if scope == "server" and guild_id is None:
            raise BotRefusal("In DMs, use /matches scope:global (or ask in a server).")
        found = await matches_for(self.bot.pool, interaction.user.id, guild_id, MATCHES_SHOWN,
                                  details=False)
        if not found.matches:
            await interaction.followup.send(
                "No matches yet — more members need to link, or wait for the next recluster.",
                ephemeral=True,
            )
            return
        pager = MatchPager(
            self.bot.pool, self.bot.hi_answers, interaction.user.id, list(found.matches), guild_id
        )
        await interaction.followup.send(embed=await pager.page(), view=pager, ephemeral=True, wait=True)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Matches(bot))
