"""The SoundSync bot: holds the pool, settings and token vault it is given; loads the cogs.

It runs as discord.py's ``AutoShardedBot``: with no shard count it follows Discord's
recommendation (``GET /gateway/bot``); a process given ``shard_ids`` runs only those shards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import asyncpg
import discord
from discord import app_commands
from discord.ext import commands

from bot.defer_first import deferred_ephemeral
from bot.errors import handle_error
from bot.views import HiAnswerButton, pooled_hi_answer_button
from soundsync_core.repositories import app_state
from soundsync_core.security.vault import TokenVault
from soundsync_core.services import members
from soundsync_core.services.recluster import RunnerFactory
from soundsync_core.settings import Settings
from soundsync_core.sources.base import SourceRegistry

log = logging.getLogger(__name__)
# Remembered (guild, member) pairs per process; cleared when full (a re-check is all it costs).
PRESENCE_CACHE_LIMIT = 200_000

# Discord allows one IDENTIFY per 5 s per bucket; shard N identifies in bucket N % max_concurrency.
IDENTIFY_INTERVAL = 5.0
# The close code of a shard that would hold more than 2,500 guilds.
SHARDING_REQUIRED = 4011

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


class ShardingRequiredError(Exception):
    """Discord closed a shard with 4011: it would hold more guilds than a shard may."""

    def __init__(self, shard_id: int | None, shard_count: int | None) -> None:
        super().__init__(
            f"Discord requires sharding: shard {shard_id or 0} of {shard_count or 1} would hold "
            "more than 2,500 guilds; raise SHARD_COUNT, or leave it unset to use Discord's "
            "recommendation"
        )


def command_tree_digest(tree: app_commands.CommandTree[Any]) -> str:
    """A hash of the global commands exactly as ``tree.sync()`` would send them."""
    payload = [command.to_dict(tree) for command in tree.get_commands()]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class SoundSyncBot(commands.AutoShardedBot):
    """Built by the composition root with everything it needs; nothing is created here.

    ``force_command_sync`` sends the slash commands at log-in even when their definition has not
    changed since the last sync (``soundsync sync-commands``).
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        settings: Settings,
        vault: TokenVault | None,
        sources: SourceRegistry | None = None,
        intents: discord.Intents | None = None,
        force_command_sync: bool = False,
        recluster_runner: RunnerFactory | None = None,
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
        # The listening sources /link offers and /profile, /unlink name (the composition root's).
        self.sources = sources if sources is not None else SourceRegistry()
        # The say-hi Accept/Decline buttons this bot registers and sends, answering with its pool.
        self.hi_answers: type[HiAnswerButton] = pooled_hi_answer_button(pool)
        self.force_command_sync = force_command_sync
        # Where /recluster runs its heavy blocks (the composition root's Dask cluster).
        self.recluster_runner = recluster_runner
        self.identify_buckets = 1
        self._next_identify: dict[int, float] = {}

    async def setup_hook(self) -> None:
        self.tree.error(self._on_tree_error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(self.hi_answers)
        await self.sync_commands(force=self.force_command_sync)

    async def sync_commands(self, *, force: bool = False) -> bool:
        """Send the slash commands to Discord if they changed since the last sync (or if forced).

        Every process of every restart would otherwise overwrite them, and Discord rate-limits
        command updates. The last synced definition is an ``app_state`` fact shared by all.
        """
        synced = {"application_id": str(self.application_id), "sha256": command_tree_digest(self.tree)}
        if not force and await app_state.get_fact(self.pool, app_state.DISCORD_COMMANDS) == synced:
            log.info("slash commands unchanged since the last sync: not sent")
            return False
        await self.tree.sync()
        await app_state.set_fact(self.pool, app_state.DISCORD_COMMANDS, synced)
        log.info("slash commands synced with Discord")
        return True

    async def launch_shards(self) -> None:
        limits = await self.fetch_session_start_limits()
        self.identify_buckets = max(1, limits.max_concurrency)
        log.info("Discord allows %d more session start(s) today; %d shard(s) may identify at once",
                 limits.remaining, self.identify_buckets)
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before every shard but the first; Discord's rule is per bucket.
        await asyncio.sleep(self.identify_delay(shard_id or 0, asyncio.get_running_loop().time()))

    def identify_delay(self, shard_id: int, now: float) -> float:
        """Seconds this shard waits before it may IDENTIFY (its bucket's next free slot, taken)."""
        bucket = shard_id % self.identify_buckets
        start = max(now, self._next_identify.get(bucket, now))
        self._next_identify[bucket] = start + IDENTIFY_INTERVAL
        return start - now

    async def connect(self, *, reconnect: bool = True) -> None:
        try:
            await super().connect(reconnect=reconnect)
        except discord.ConnectionClosed as exc:
            if exc.code != SHARDING_REQUIRED:
                raise
            error = ShardingRequiredError(exc.shard_id, self.shard_count)
            log.error("%s", error)
            raise error from None

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await handle_error(interaction, error)

    async def on_ready(self) -> None:
        log.info("SoundSync bot ready as %s in %d guild(s) on shard(s) %s of %d", self.user,
                 len(self.guilds), ",".join(map(str, sorted(self.shards))), self.shard_count or 1)
