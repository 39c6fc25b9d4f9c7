"""Test doubles for the digest: a "Discord" that outlives our process, senders that crash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from soundsync_core.services.digest import DMClosedError
from soundsync_core.services.digest_delivery import Pacer
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import recluster
from tests.integration.community_data import community_lines

GUILD = 1
DIGEST_CHANNEL = 555
OPTED_IN = (1000, 1001, 1010, 1011, 1020, 1021)


class ProcessDied(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the drain catches it."""


@dataclass
class Inbox:
    """What members received. It survives our "process": Discord keeps messages we sent."""

    dms: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    posts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def received(self, user_id: int) -> list[dict[str, Any]]:
        return [p for u, p in self.dms if u == user_id]


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fast_pacer(rate: float = 1.0, clock: FakeClock | None = None) -> Pacer:
    clock = clock or FakeClock()
    return Pacer(rate, clock, clock.sleep)


class PlainSender:
    """A DMSender that cannot look back at what it sent (no ``already_sent``)."""

    def __init__(self, inbox: Inbox, *, closed: set[int] | None = None,
                 crash_after_send_to: int | None = None) -> None:
        self.inbox = inbox
        self.closed = closed or set()
        self.crash_after_send_to = crash_after_send_to
        self.calls: list[int] = []

    async def send_dm(self, user_id: int, payload: dict[str, Any]) -> None:
        self.calls.append(user_id)
        if user_id in self.closed:
            raise DMClosedError("403 50007: Cannot send messages to this user")
        self.inbox.dms.append((user_id, payload))
        if user_id == self.crash_after_send_to:
            raise ProcessDied


class FakeSender(PlainSender):
    """Sender + verifier + channel poster, with scripted crashes and transient failures."""

    def __init__(self, inbox: Inbox, *, closed: set[int] | None = None,
                 crash_after_send_to: int | None = None, crash_before_send_to: int | None = None,
                 failures: dict[int, int] | None = None, crash_after_post: bool = False,
                 block_on: int | None = None) -> None:
        super().__init__(inbox, closed=closed, crash_after_send_to=crash_after_send_to)
        self.crash_before_send_to = crash_before_send_to
        self.failures = dict(failures or {})
        self.crash_after_post = crash_after_post
        self.block_on = block_on
        self.blocked = asyncio.Event()
        self.verified: list[int] = []
        self.clock: FakeClock | None = None
        self.sent_at: list[float] = []

    async def send_dm(self, user_id: int, payload: dict[str, Any]) -> None:
        if user_id == self.crash_before_send_to:
            raise ProcessDied
        if user_id == self.block_on:
            self.blocked.set()
            await asyncio.Event().wait()  # until the drain is cancelled
        if self.failures.get(user_id, 0) > 0:
            self.failures[user_id] -= 1
            raise ConnectionResetError("Discord went away")
        if self.clock is not None:
            self.sent_at.append(self.clock.now)
        await super().send_dm(user_id, payload)

    async def already_sent(self, user_id: int, marker: str) -> bool:
        self.verified.append(user_id)
        return any(p["marker"] == marker for p in self.inbox.received(user_id))

    async def post_channel_digest(self, channel_id: int, payload: dict[str, Any]) -> None:
        self.inbox.posts.append((channel_id, payload))
        if self.crash_after_post:
            raise ProcessDied

    async def already_posted(self, channel_id: int, marker: str) -> bool:
        return any(c == channel_id and p["marker"] == marker for c, p in self.inbox.posts)


async def seed_community(pool: asyncpg.Pool, opted_in: tuple[int, ...] = OPTED_IN,
                         digest_channel: int | None = DIGEST_CHANNEL) -> None:
    """30 members in guild 1, a live run, ``opted_in`` members with weekly DMs on."""
    await import_profiles(pool, community_lines())
    await recluster(pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE members SET weekly_dm = true WHERE user_id = ANY($1::bigint[])",
                           list(opted_in))
        await conn.execute("INSERT INTO guilds (guild_id, name, digest_channel_id) VALUES ($1, $2, $3)",
                           GUILD, "Listening Club", digest_channel)


async def statuses(pool: asyncpg.Pool) -> dict[int, str]:
    rows = await pool.fetch("SELECT user_id, status FROM dm_outbox")
    return {r["user_id"]: r["status"] for r in rows}
