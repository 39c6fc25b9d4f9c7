"""The fake Discord gateway: an aiohttp websocket speaking plain-JSON TEXT frames.

discord.py asks for ``compress=zlib-stream`` but decompresses only BINARY frames, so TEXT frames
of JSON need no compression. Sessions keep every dispatched event, so after a dropped connection
a RESUME replays what the bot missed and then sends RESUMED, like Discord.
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
# 4000 "unknown error" is a close discord.py answers with RESUME.
RECONNECTABLE_CLOSE = 4000


@dataclass
class GatewaySession:
    """One identified session: its events (for replay) and its current connection, if any."""

    session_id: str
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
        self.current: GatewaySession | None = None
        self.identifies = 0
        self.resumes = 0
        self.received: list[dict[str, Any]] = []
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
            if self.current is not None and self.current.ws is ws:
                self.current.ws = None
                self._live.clear()
        return ws

    async def _on_payload(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        self.received.append(payload)
        op, data = payload.get("op"), payload.get("d") or {}
        if op == HEARTBEAT:
            await ws.send_json({"op": HEARTBEAT_ACK})
        elif op in (IDENTIFY, RESUME) and data.get("token") != self.world.bot_token:
            await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
        elif op == IDENTIFY:
            await self._identify(ws)
        elif op == RESUME:
            await self._resume(ws, data)

    async def _identify(self, ws: web.WebSocketResponse) -> None:
        self.identifies += 1
        session = GatewaySession(secrets.token_hex(16))
        self.sessions[session.session_id] = session
        self.current = session
        async with session.lock:
            session.ws = ws
            await self._append(session, "READY", self._ready_payload(session))
            for guild_id in self.world.guilds:
                await self._append(session, "GUILD_CREATE", self.world.guild_create_payload(guild_id))
        self._live.set()

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or session is not self.current:
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
        self._live.set()

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.world.bot.payload(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.world.guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.resume_url(),
            "session_type": "normal",
            "private_channels": [],
            "relationships": [],
            "application": {"id": str(self.world.application_id), "flags": 0},
            "shard": [0, 1],
        }

    async def _append(self, session: GatewaySession, name: str, data: dict[str, Any]) -> None:
        # Callers hold session.lock, so sequence numbers and replay order never interleave.
        event = {"op": DISPATCH, "t": name, "s": len(session.events) + 1, "d": data}
        session.events.append(event)
        await session.send(event)

    async def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send an event to the bot's session (kept for replay while it is disconnected)."""
        session = self.current
        if session is None:
            raise RuntimeError("no gateway session: the bot has not identified yet")
        async with session.lock:
            await self._append(session, name, data)

    async def wait_live(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109 - per-call deadline for tests
        """Wait until a session has an identified or resumed connection."""
        async with asyncio.timeout(timeout):
            await self._live.wait()

    async def drop(self, code: int = RECONNECTABLE_CLOSE) -> None:
        """Close the bot's connection from the server side (the session stays resumable)."""
        session = self.current
        if session is None or session.ws is None:
            raise RuntimeError("no live gateway connection to drop")
        ws, session.ws = session.ws, None
        self._live.clear()
        await ws.close(code=code, message=b"fake drop")

    async def close_all(self) -> None:
        """Close every connection (server shutdown)."""
        for ws in list(self._connections):
            await ws.close(code=1001, message=b"server shutdown")
