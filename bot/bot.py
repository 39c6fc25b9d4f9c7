"""The SoundSync bot: holds the pool, settings and token vault it is given; loads the cogs."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import discord
from discord import app_commands
from discord.ext import commands

from bot.defer_first import deferred_ephemeral
from bot.errors import handle_error
from bot.views import HiAnswerButton, pooled_hi_answer_button
from soundsync_core.security.vault import TokenVault
from soundsync_core.services import members
from soundsync_core.settings import Settings

log = logging.getLogger(__name__)
# Remembered (guild, member) pairs per process; cleared when full (a re-check is all it costs).
PRESENCE_CACHE_LIMIT = 200_000

EXTENSIONS: tuple[str, ...] = (
    "bot.cogs.linking",
    "bot.cogs.imports",
    "bot.cogs.profile",
    "bot.cogs.matches",
    "bot.cogs.compare",
    "bot.cogs.tribes",
    "bot.cogs.settings",
    "bot.cogs.admin",
    "bot.cogs.presence",
)


class SoundSyncTree(app_commands.CommandTree["SoundSyncBot"]):
    """Records the guild (and the linked member's membership) on every command use.

    Without the privileged members intent, command use is how SoundSync learns who is where.
    A linked member already recorded in a guild is remembered in this process.

    Commands marked with :func:`bot.defer_first.defer_first` are acknowledged ("thinking…") before that check:
    under load the check waits for a pooled connection behind other commands' queries, and
    Discord's 3-second deadline (and the member's patience) should not wait with it.
    """

    def __init__(self, client: SoundSyncBot, **options: Any) -> None:
        super().__init__(client, **options)
        self._recorded: set[tuple[int, int]] = set()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        ephemeral = deferred_ephemeral(interaction.command)
        if ephemeral is not None:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        if interaction.guild_id is None:
            return True
        key = (interaction.guild_id, interaction.user.id)
        if key not in self._recorded:
            guild_name = interaction.guild.name if interaction.guild else None
            linked = await members.record_presence(
                self.client.pool, interaction.guild_id, guild_name, interaction.user.id
            )
            if linked:
                if len(self._recorded) >= PRESENCE_CACHE_LIMIT:
                    self._recorded.clear()
                self._recorded.add(key)
        return True

    def forget_presence(self, user_id: int) -> None:
        """The member unlinked: check their presence again when they come back."""
        self._recorded = {key for key in self._recorded if key[1] != user_id}


class SoundSyncBot(commands.Bot):
    """Built by the composition root with everything it needs; nothing is created here."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        settings: Settings,
        vault: TokenVault | None,
        intents: discord.Intents | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            tree_cls=SoundSyncTree,
            **options,
        )
        self.pool = pool
        self.settings = settings
        # None when SOUNDSYNC_SECRET_KEY is unset: /link then says linking is not configured.
        self.vault = vault
        # The say-hi Accept/Decline buttons this bot registers and sends, answering with its pool.
        self.hi_answers: type[HiAnswerButton] = pooled_hi_answer_button(pool)

    async def setup_hook(self) -> None:
        self.tree.error(self._on_tree_error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(self.hi_answers)
        await self.tree.sync()

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await handle_error(interaction, error)

    async def on_ready(self) -> None:
        log.info("SoundSync bot ready as %s in %d guild(s)", self.user, len(self.guilds))
