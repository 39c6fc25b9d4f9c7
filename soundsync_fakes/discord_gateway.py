"""The fake Discord gateway: an aiohttp websocket speaking plain-JSON TEXT frames.

discord.py asks for ``compress=zlib-stream`` but decompresses only BINARY frames, so TEXT frames
of JSON need no compression. Sessions keep every dispatched event, so after a dropped connection
a RESUME replays what the bot missed and then sends RESUMED, like Discord.

Sharding as Discord does it: IDENTIFY carries ``[shard_id, num_shards]`` (absent: ``[0, 1]``), a
guild's events go to shard ``(guild_id >> 22) % num_shards`` and DMs to shard 0, and a shard
that would hold more than 2,500 guilds is closed with 4011 right after IDENTIFY.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from soundsync_fakes.discord_state import DiscordWorld

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
AUTHENTICATION_FAILED = 4004
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
MAX_GUILDS_PER_SHARD = 2500
# Discord recommends about one shard per 1,000 guilds.
GUILDS_PER_RECOMMENDED_SHARD = 1000
# 4000 "unknown error" is a close discord.py answers with RESUME.
RECONNECTABLE_CLOSE = 4000


@dataclass
class GatewaySession:
    """One identified session: its events (for replay) and its current connection, if any."""

    session_id: str
    shard: tuple[int, int] = (0, 1)
    events: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, event: dict[str, Any]) -> None:
        """Send to the live connection; a dead one leaves the event for the next RESUME."""
        if self.ws is None or self.ws.closed:
            return
        try:
            await self.ws.send_str(json.dumps(event))
        except (ConnectionError, RuntimeError):
            self.ws = None


class FakeGateway:
    """Accepts the bot's websocket, runs HELLO/IDENTIFY/RESUME, and dispatches events to it."""

    def __init__(
        self,
        world: DiscordWorld,
        resume_url: Callable[[], str],
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.world = world
        self.resume_url = resume_url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, GatewaySession] = {}
        # Each shard id's latest identified session, and the shard count they identified with.
        self.shards: dict[int, GatewaySession] = {}
        self.shard_count = 1
        # What ``GET /gateway/bot`` answers (None: one shard per 1,000 guilds, at least one).
        self.recommended_shards: int | None = None
        self.max_concurrency = 1
        self.identifies = 0
        self.resumes = 0
        self.received: list[dict[str, Any]] = []
        self.refused: list[tuple[tuple[int, int], int]] = []  # (shard, close code)
        self._connections: set[web.WebSocketResponse] = set()
        self._live = asyncio.Event()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket endpoint (``/gateway`` and the resume URL)."""
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        self._connections.add(ws)
        try:
            await ws.send_json({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_payload(ws, json.loads(message.data))
        finally:
            self._connections.discard(ws)
            for session in self.shards.values():
                if session.ws is ws:
                    session.ws = None
            self._refresh_live()
        return ws

    @property
    def current(self) -> GatewaySession | None:
        """Shard 0's session (the only one of an unsharded bot)."""
        return self.shards.get(0)

    def recommendation(self) -> dict[str, Any]:
        """``GET /gateway/bot`` without the URL: the shard count and session start limits."""
        shards = self.recommended_shards or max(1, -(-len(self.world.guilds) // GUILDS_PER_RECOMMENDED_SHARD))
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                 "max_concurrency": self.max_concurrency}
        return {"shards": shards, "session_start_limit": limit}

    def shard_of(self, guild_id: int | None) -> int:
        """The shard a guild's events go to (DMs: shard 0)."""
        return 0 if guild_id is None else (guild_id >> 22) % self.shard_count

    async def _on_payload(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        self.received.append(payload)
        op, data = payload.get("op"), payload.get("d") or {}
        if op == HEARTBEAT:
            await ws.send_json({"op": HEARTBEAT_ACK})
        elif op in (IDENTIFY, RESUME) and data.get("token") != self.world.bot_token:
            await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
        elif op == IDENTIFY:
            await self._identify(ws, data.get("shard") or [0, 1])
        elif op == RESUME:
            await self._resume(ws, data)

    async def _identify(self, ws: web.WebSocketResponse, shard: list[int]) -> None:
        shard_id, count = shard
        if not 0 <= shard_id < count:
            await self._refuse(ws, (shard_id, count), INVALID_SHARD, b"Invalid shard.")
            return
        guild_ids = [g for g in self.world.guilds if (g >> 22) % count == shard_id]
        if len(guild_ids) > MAX_GUILDS_PER_SHARD:
            await self._refuse(ws, (shard_id, count), SHARDING_REQUIRED, b"Sharding required.")
            return
        self.identifies += 1
        session = GatewaySession(secrets.token_hex(16), (shard_id, count))
        self.sessions[session.session_id] = session
        self.shards[shard_id] = session
        self.shard_count = count
        async with session.lock:
            session.ws = ws
            await self._append(session, "READY", self._ready_payload(session, guild_ids))
            for guild_id in guild_ids:
                await self._append(session, "GUILD_CREATE", self.world.guild_create_payload(guild_id))
        self._refresh_live()

    async def _refuse(
        self, ws: web.WebSocketResponse, shard: tuple[int, int], code: int, reason: bytes
    ) -> None:
        self.refused.append((shard, code))
        await ws.close(code=code, message=reason)

    def _refresh_live(self) -> None:
        # Live when every shard of the identified count has a connection.
        live = all(
            (s := self.shards.get(i)) is not None and s.ws is not None and not s.ws.closed
            for i in range(self.shard_count)
        )
        if live:
            self._live.set()
        else:
            self._live.clear()

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or session is not self.shards.get(session.shard[0]):
            await ws.send_json({"op": INVALID_SESSION, "d": False})
            return
        self.resumes += 1
        async with session.lock:
            session.ws = ws
            last_seen = data.get("seq") or 0
            for event in session.events:
                if event["s"] > last_seen:
                    await session.send(event)
            await self._append(session, "RESUMED", {})
        self._refresh_live()

    def _ready_payload(self, session: GatewaySession, guild_ids: list[int]) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.world.bot.payload(),
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_url(),
            "session_type": "normal",
            "private_channels": [],
            "relationships": [],
            "application": {"id": str(self.world.application_id), "flags": 0},
            "shard": list(session.shard),
        }

    async def _append(self, session: GatewaySession, name: str, data: dict[str, Any]) -> None:
        # Callers hold session.lock, so sequence numbers and replay order never interleave.
        event = {"op": DISPATCH, "t": name, "s": len(session.events) + 1, "d": data}
        session.events.append(event)
        await session.send(event)

    async def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send an event to the shard of its guild (kept for replay while it is disconnected)."""
        guild_id = data.get("guild_id")
        shard_id = self.shard_of(int(guild_id) if guild_id is not None else None)
        session = self.shards.get(shard_id)
        if session is None:
            raise RuntimeError(f"no gateway session on shard {shard_id}: the bot has not identified it")
        async with session.lock:
            await self._append(session, name, data)

    async def wait_live(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109 - per-call deadline for tests
        """Wait until every shard has an identified or resumed connection."""
        async with asyncio.timeout(timeout):
            await self._live.wait()

    async def drop(self, code: int = RECONNECTABLE_CLOSE, shard_id: int = 0) -> None:
        """Close a shard's connection from the server side (the session stays resumable)."""
        session = self.shards.get(shard_id)
        if session is None or session.ws is None:
            raise RuntimeError(f"no live gateway connection to drop on shard {shard_id}")
        ws, session.ws = session.ws, None
        self._live.clear()
        await ws.close(code=code, message=b"fake drop")

    async def close_all(self) -> None:
        """Close every connection (server shutdown)."""
        for ws in list(self._connections):
            await ws.close(code=1001, message=b"server shutdown")
