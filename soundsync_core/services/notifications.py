"""Link events between processes over PostgreSQL ``LISTEN/NOTIFY``.

The web process completes a link; the bot process (maybe on another machine) must DM the
member. ``notify_link`` runs inside the transaction that stores the link, so PostgreSQL
delivers the event exactly when (and only if) the link is committed.

NOTIFY is not durable: events sent while no listener is connected are lost. The account
rows stay the truth (``accounts.status``); the bot may reconcile from them at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import asyncpg

from soundsync_core.repositories import notices

log = logging.getLogger(__name__)

LINK_CHANNEL = "soundsync_links"

# What happened to the member's link (the bot words its DM from it).
LINKED = "linked"                     # link complete (``profile_ready`` says if ingested)
LINK_EXPIRED = "link_expired"         # Spotify said invalid_grant: ask the member to relink
# accounts.NOT_ALLOWLISTED (one spelling everywhere): development-mode app, the owner must allowlist them

LinkCallback = Callable[["LinkEvent"], Awaitable[None] | None]


@dataclass(frozen=True)
class LinkEvent:
    """The NOTIFY payload: ``{user_id, guild_id, source, event, profile_ready}``."""

    user_id: int
    guild_id: int | None
    source: str
    event: str = LINKED
    profile_ready: bool = True

    def to_json(self) -> str:
        """The payload text (far below PostgreSQL's 8000-byte limit)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, payload: str) -> LinkEvent:
        """Parse a payload; unknown keys are ignored so senders may add fields."""
        data = json.loads(payload)
        return cls(
            user_id=int(data["user_id"]),
            guild_id=None if data.get("guild_id") is None else int(data["guild_id"]),
            source=str(data["source"]),
            event=str(data.get("event", LINKED)),
            profile_ready=bool(data.get("profile_ready", True)),
        )


async def notify_link(conn: asyncpg.Connection, event: LinkEvent) -> None:
    """Send ``event`` on :data:`LINK_CHANNEL` (delivered when the surrounding transaction commits)."""
    await notices.notify(conn, LINK_CHANNEL, event.to_json())


class LinkListener:
    """A live ``LISTEN`` on :data:`LINK_CHANNEL`; ``await listener.close()`` (or ``async with``)."""

    def __init__(
        self, conn: asyncpg.Connection, callback: LinkCallback, pool: asyncpg.Pool | None
    ) -> None:
        self._conn = conn
        self._callback = callback
        self._pool = pool
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    async def start(self) -> None:
        """Begin listening (and, with a pool, listen again on a new connection if this one dies)."""
        await self._conn.add_listener(LINK_CHANNEL, self._on_notify)
        if self._pool is not None:
            self._conn.add_termination_listener(self._on_terminated)

    def _on_terminated(self, conn: object) -> None:
        if self._closing:
            return
        log.warning("the %s listener lost its connection; listening again", LINK_CHANNEL)
        self._track(asyncio.get_running_loop().create_task(self._relisten()))

    async def _relisten(self) -> None:
        assert self._pool is not None
        with contextlib.suppress(asyncpg.InterfaceError, OSError):
            await self._pool.release(self._conn)
        delay = 0.5
        while not self._closing:
            try:
                self._conn = await self._pool.acquire()
                await self.start()
                log.info("the %s listener is listening again", LINK_CHANNEL)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot listen again yet (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        # asyncpg calls this synchronously: hand the event to a task so a slow callback (a
        # Discord DM) never holds up the connection's protocol.
        try:
            event = LinkEvent.from_json(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed %s payload", LINK_CHANNEL)
            return
        self._track(asyncio.get_running_loop().create_task(self._deliver(event)))

    async def _deliver(self, event: LinkEvent) -> None:
        try:
            result = self._callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("link event callback failed for member %s", event.user_id)

    async def close(self) -> None:
        """Stop listening, let running callbacks finish, give a pooled connection back."""
        self._closing = True
        with contextlib.suppress(asyncpg.InterfaceError, OSError):
            await self._conn.remove_listener(LINK_CHANNEL, self._on_notify)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pool is not None:
            with contextlib.suppress(asyncpg.InterfaceError, OSError):
                await self._pool.release(self._conn)

    async def __aenter__(self) -> LinkListener:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def listen_for_links(
    conn_or_pool: asyncpg.Connection | asyncpg.Pool, callback: LinkCallback
) -> LinkListener:
    """Call ``callback(LinkEvent)`` for every link event until the listener is closed.

    Given a pool, one connection is held for the listener's whole life (LISTEN is per
    connection). ``callback`` may be a plain function or a coroutine function; its errors are
    logged, never raised into the listener.
    """
    pool = conn_or_pool if isinstance(conn_or_pool, asyncpg.Pool) else None
    conn = await pool.acquire() if pool is not None else conn_or_pool
    listener = LinkListener(conn, callback, pool)
    try:
        await listener.start()
    except BaseException:
        if pool is not None:
            await pool.release(conn)
        raise
    return listener
