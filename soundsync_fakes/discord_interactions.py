"""Interactions the fake Discord sends to the bot, and what the bot answered to each.

A :class:`FakeInteraction` is what ``FakeDiscord.slash_command`` and friends return: the test awaits
its callback (``await interaction.response()``) and its followups (``await
interaction.next_followup()``), and reads the original response message.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from soundsync_fakes.discord_messages import FakeMessage, MessageStore, UploadedFile
from soundsync_fakes.discord_state import EVERYONE_PERMISSIONS, DiscordWorld

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
MODAL_SUBMIT = 5
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
# Discord drops an interaction nobody acknowledged within 3 s, and its token after 15 minutes.
ACK_DEADLINE = 3.0
TOKEN_LIFETIME = 15 * 60.0
GUILD_INSTALL = "0"
USER_INSTALL = "1"
CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1


@dataclass(frozen=True)
class InteractionCallback:
    """The bot's answer to ``POST /interactions/{id}/{token}/callback``."""

    type: int
    data: dict[str, Any]
    files: list[UploadedFile]
    message: FakeMessage | None


@dataclass
class FakeInteraction:
    """One interaction sent over the gateway, with the bot's callback and followups."""

    id: int
    token: str
    payload: dict[str, Any]
    store: MessageStore
    source_message_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    callback: InteractionCallback | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    _followups_read: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def channel_id(self) -> int:
        """The channel the interaction came from."""
        return int(self.payload["channel"]["id"])

    @property
    def user_id(self) -> int:
        """Who triggered the interaction."""
        user = self.payload["member"]["user"] if "member" in self.payload else self.payload["user"]
        return int(user["id"])

    @property
    def guild_id(self) -> int | None:
        """The guild it came from (None in DMs)."""
        return int(self.payload["guild_id"]) if "guild_id" in self.payload else None

    @property
    def original(self) -> FakeMessage | None:
        """The original response message as it is now (after any edits)."""
        if self.original_message_id is None:
            return None
        return self.store.by_id.get(self.original_message_id)

    @property
    def followups(self) -> list[FakeMessage]:
        """Followup messages sent through the interaction webhook, oldest first."""
        return [self.store.by_id[i] for i in self.followup_ids if i in self.store.by_id]

    def acknowledge(self, callback: InteractionCallback, original_id: int | None) -> None:
        """Record the bot's callback (called by the REST route)."""
        self.callback = callback
        self.original_message_id = original_id
        self._pulse()

    def add_followup(self, message: FakeMessage) -> None:
        """Record a followup message (called by the REST route)."""
        self.followup_ids.append(message.id)
        self._pulse()

    async def response(self, timeout: float = 2.0) -> InteractionCallback:  # noqa: ASYNC109 - per-call deadline for tests
        """Wait for the bot's callback (raises TimeoutError when it never answers)."""
        await self._wait_until(lambda: self.callback is not None, timeout)
        assert self.callback is not None
        return self.callback

    async def next_followup(self, timeout: float = 2.0) -> FakeMessage:  # noqa: ASYNC109 - per-call deadline for tests
        """The next followup not yet returned by this method (waits for it)."""
        index = self._followups_read
        await self._wait_until(lambda: len(self.followup_ids) > index, timeout)
        self._followups_read = index + 1
        return self.store.by_id[self.followup_ids[index]]

    def expired(self, acknowledging: bool) -> bool:
        """Whether Discord would now answer 10062 Unknown interaction."""
        age = time.monotonic() - self.created
        return age > (ACK_DEADLINE if acknowledging else TOKEN_LIFETIME)

    async def _wait_until(self, ready: Any, timeout: float) -> None:  # noqa: ASYNC109 - per-call deadline for tests
        async with asyncio.timeout(timeout):
            while not ready():
                await self._changed.wait()

    def _pulse(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class InteractionFactory:
    """Builds INTERACTION_CREATE payloads with the fields discord.py reads."""

    def __init__(self, world: DiscordWorld, store: MessageStore) -> None:
        self.world = world
        self.store = store
        self.by_id: dict[int, FakeInteraction] = {}
        self.by_token: dict[str, FakeInteraction] = {}

    def create(
        self,
        kind: int,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        data: dict[str, Any],
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        """A new interaction from ``user_id`` (in a guild channel, or in their DM when no guild)."""
        interaction_id = self.world.snowflakes.next()
        token = f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(48)}"
        payload = self._base(kind, interaction_id, token, user_id, guild_id, channel_id)
        payload["data"] = data
        if message is not None:
            payload["message"] = copy.deepcopy(message.data)  # as it was when clicked
        interaction = FakeInteraction(
            interaction_id, token, payload, self.store, message.id if message else None
        )
        self.by_id[interaction_id] = interaction
        self.by_token[token] = interaction
        return interaction

    def _base(
        self,
        kind: int,
        interaction_id: int,
        token: str,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
    ) -> dict[str, Any]:
        world = self.world
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(world.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "locale": "en-US",
            "entitlements": [],
        }
        if guild_id is None:
            channel = world.open_dm(user_id)
            payload["user"] = world.users[user_id].payload()
            payload["authorizing_integration_owners"] = {GUILD_INSTALL: "0"}
            payload["context"] = CONTEXT_BOT_DM
            payload["app_permissions"] = str(EVERYONE_PERMISSIONS)
        else:
            if channel_id is None:
                channel_id = world.guilds[guild_id].channel_ids[0]
            channel = world.channels[channel_id]
            payload["guild_id"] = str(guild_id)
            payload["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = world.member_payload(guild_id, user_id)
            payload["authorizing_integration_owners"] = {GUILD_INSTALL: str(guild_id)}
            payload["context"] = CONTEXT_GUILD
            payload["app_permissions"] = str(world.permissions(guild_id, world.bot.id))
        payload["channel"] = world.channel_payload(channel.id)
        payload["channel_id"] = str(channel.id)
        return payload
