"""The digest's Discord adapter: sends DMs and channel posts for the core's paced sender."""

from __future__ import annotations

from typing import Any

import discord

from bot import render
from soundsync_core.services.digest import DMClosedError

CANNOT_MESSAGE_USER = 50007
# How far back to look for a message an interrupted send may already have delivered.
HISTORY_LOOKBACK = 20


class DiscordDMSender:
    """Implements the digest's ``VerifyingDMSender`` and ``ChannelDigestPoster`` protocols."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def send_dm(self, user_id: int, payload: dict[str, Any]) -> None:
        """DM the digest; :class:`DMClosedError` when the member does not accept DMs (50007)."""
        channel = await self.client.create_dm(discord.Object(user_id))
        try:
            await channel.send(
                payload.get("marker"), embed=render.digest_embed(payload), nonce=payload.get("nonce")
            )
        except discord.Forbidden as exc:
            if exc.code == CANNOT_MESSAGE_USER:
                raise DMClosedError(f"member {user_id} does not accept DMs") from None
            raise

    async def already_sent(self, user_id: int, marker: str) -> bool:
        """Whether a recent DM from the bot to the member carries ``marker``."""
        channel = await self.client.create_dm(discord.Object(user_id))
        return await self._has_marker(channel, marker)

    async def post_channel_digest(self, channel_id: int, payload: dict[str, Any]) -> None:
        """Post the channel digest (the fallback for members with closed DMs)."""
        channel = await self._channel(channel_id)
        await channel.send(
            payload.get("marker"), embed=render.channel_digest_embed(payload), nonce=payload.get("nonce"),
            allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
        )

    async def already_posted(self, channel_id: int, marker: str) -> bool:
        """Whether a recent post of the bot in the channel carries ``marker``."""
        return await self._has_marker(await self._channel(channel_id), marker)

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise TypeError(f"channel {channel_id} cannot hold messages")
        return channel

    async def _has_marker(self, channel: discord.abc.Messageable, marker: str) -> bool:
        me = self.client.user
        async for message in channel.history(limit=HISTORY_LOOKBACK):
            if me is not None and message.author.id == me.id and marker in message.content:
                return True
        return False
