"""Keeps ``guilds`` and ``guild_members`` current from gateway events.

Member join/leave events need the privileged members intent; without it the tree's
interaction check records memberships as members use commands.
"""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.bot import SoundSyncBot
from soundsync_core.services import members


class Presence(commands.Cog):
    """Which guilds the bot is in, and which linked members are in them."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await members.record_guild(self.bot.pool, guild.id, guild.name)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await members.record_guild(self.bot.pool, guild.id, guild.name)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        await members.record_presence(self.bot.pool, member.guild.id, member.guild.name, member.id)

    @commands.Cog.listener()
    async def on_member_remove(self, member: discord.Member) -> None:
        await members.forget_membership(self.bot.pool, member.guild.id, member.id)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Presence(bot))
