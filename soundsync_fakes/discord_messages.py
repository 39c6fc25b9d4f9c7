"""Messages the bot sent to the fake Discord, kept with their attachment bytes for the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from soundsync_fakes.discord_state import DiscordWorld, iso_now

EPHEMERAL = 1 << 6
# Keys a message create/edit body may set; the rest of the message object is the server's.
_EDITABLE = ("content", "embeds", "components", "flags", "tts", "poll")


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field_name: str
    filename: str
    content: bytes
    content_type: str


@dataclass
class FakeAttachment:
    """An attachment stored with its bytes."""

    id: int
    filename: str
    content: bytes
    content_type: str
    description: str | None = None

    def payload(self, base_url: str, channel_id: int) -> dict[str, Any]:
        """The attachment object Discord sends."""
        url = f"{base_url}/attachments/{channel_id}/{self.id}/{self.filename}"
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.content),
            "url": url,
            "proxy_url": url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass
class FakeMessage:
    """A message as Discord stores it, plus its attachments' bytes and edit count."""

    id: int
    channel_id: int
    data: dict[str, Any]
    attachments: list[FakeAttachment] = field(default_factory=list)
    edits: int = 0

    @property
    def content(self) -> str:
        """The message text."""
        return str(self.data.get("content", ""))

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds as sent."""
        return list(self.data.get("embeds", []))

    @property
    def components(self) -> list[dict[str, Any]]:
        """The components (action rows) as sent."""
        return list(self.data.get("components", []))

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees it."""
        return bool(self.data.get("flags", 0) & EPHEMERAL)

    def custom_ids(self) -> list[str]:
        """Every component custom_id, in order (handy for clicking buttons)."""
        return [
            child["custom_id"]
            for row in self.components
            for child in row.get("components", [])
            if "custom_id" in child
        ]


class MessageStore:
    """Every message by id and per channel, with per-channel read cursors for the tests."""

    def __init__(self, world: DiscordWorld) -> None:
        self.world = world
        self.base_url = ""
        self.by_id: dict[int, FakeMessage] = {}
        # Files a user attached to a slash command (no message holds them), by attachment id.
        self.uploads: dict[int, FakeAttachment] = {}
        self._by_channel: dict[int, list[FakeMessage]] = {}
        self._cursors: dict[int, int] = {}
        self._changed = asyncio.Event()

    def create(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[UploadedFile],
        extra: dict[str, Any] | None = None,
        *,
        visible: bool = True,
    ) -> FakeMessage:
        """Store a new message by the bot; ``extra`` adds server-side keys.

        Ephemeral interaction replies pass ``visible=False``: kept by id, absent from the channel.
        """
        message_id = self.world.snowflakes.next()
        data: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": self.world.bot.payload(),
            "content": "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        data.update({k: body[k] for k in _EDITABLE if k in body})
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]
        data.update(extra or {})
        message = FakeMessage(message_id, channel_id, data)
        message.attachments = self._attachments(body, files, [])
        self._refresh_attachments(message)
        self.by_id[message_id] = message
        if visible:
            self._by_channel.setdefault(channel_id, []).append(message)
        self._notify()
        return message

    def upload(self, filename: str, content: bytes, content_type: str) -> FakeAttachment:
        """Keep a file a user attaches to a command; it is served at its URL like any attachment."""
        attachment = FakeAttachment(self.world.snowflakes.next(), filename, content, content_type)
        self.uploads[attachment.id] = attachment
        return attachment

    def attachment(self, attachment_id: int) -> FakeAttachment | None:
        """A stored attachment by id: of a message, or uploaded for a command."""
        if attachment_id in self.uploads:
            return self.uploads[attachment_id]
        for message in self.by_id.values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return attachment
        return None

    def edit(self, message_id: int, body: dict[str, Any], files: list[UploadedFile]) -> FakeMessage:
        """Apply an edit body: given keys replace, ``attachments`` lists the ones to keep."""
        message = self.by_id[message_id]
        message.data.update({k: body[k] for k in _EDITABLE if k in body})
        message.data["edited_timestamp"] = iso_now()
        if "attachments" in body or files:
            message.attachments = self._attachments(body, files, message.attachments)
            self._refresh_attachments(message)
        message.edits += 1
        self._notify()
        return message

    def delete(self, message_id: int) -> None:
        """Remove a message (it stays nowhere, like on Discord)."""
        message = self.by_id.pop(message_id)
        if message in self._by_channel.get(message.channel_id, []):
            self._by_channel[message.channel_id].remove(message)

    def with_nonce(self, channel_id: int, nonce: str | int) -> FakeMessage | None:
        """The channel's message created with this nonce, if any (``enforce_nonce`` dedupe)."""
        for message in self._by_channel.get(channel_id, []):
            if message.data.get("nonce") == nonce:
                return message
        return None

    def in_channel(self, channel_id: int) -> list[FakeMessage]:
        """All messages currently in a channel, oldest first."""
        return list(self._by_channel.get(channel_id, []))

    async def next_in_channel(self, channel_id: int, timeout: float) -> FakeMessage:  # noqa: ASYNC109 - per-call deadline for tests
        """The first message in the channel not yet returned by this method (waits for it)."""
        index = self._cursors.get(channel_id, 0)
        await self._wait_until(lambda: len(self._by_channel.get(channel_id, [])) > index, timeout)
        self._cursors[channel_id] = index + 1
        return self._by_channel[channel_id][index]

    async def wait_for_edit(self, message_id: int, edits: int, timeout: float) -> FakeMessage:  # noqa: ASYNC109 - per-call deadline for tests
        """Wait until a message has been edited at least ``edits`` times."""
        await self._wait_until(lambda: self.by_id[message_id].edits >= edits, timeout)
        return self.by_id[message_id]

    async def _wait_until(self, ready: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109 - per-call deadline for tests
        async with asyncio.timeout(timeout):
            while not ready():
                await self._changed.wait()

    def _attachments(
        self, body: dict[str, Any], files: list[UploadedFile], current: list[FakeAttachment]
    ) -> list[FakeAttachment]:
        described = {str(a.get("id")): a for a in body.get("attachments", [])}
        kept = [a for a in current if str(a.id) in described]
        new = []
        for index, upload in enumerate(files):
            meta = described.get(str(index), {})
            new.append(
                FakeAttachment(
                    self.world.snowflakes.next(),
                    meta.get("filename", upload.filename),
                    upload.content,
                    upload.content_type,
                    meta.get("description"),
                )
            )
        return kept + new

    def _refresh_attachments(self, message: FakeMessage) -> None:
        message.data["attachments"] = [
            a.payload(self.base_url, message.channel_id) for a in message.attachments
        ]

    def _notify(self) -> None:
        # Wake every waiter once, then arm a fresh event for the next change.
        self._changed.set()
        self._changed = asyncio.Event()
