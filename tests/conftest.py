"""Shared fixtures: a real PostgreSQL for every test that needs one.

The server is the one named by ``DATABASE_URL`` when set, otherwise the embedded server started
in a temporary folder. Migrations are applied once to a template database; every test gets its
own fresh copy of it (``CREATE DATABASE … TEMPLATE``), so tests never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from soundsync_core.db.embedded import EmbeddedDatabase
from soundsync_core.db.migrations import migrate
from soundsync_core.db.pool import connect, create_pool
from soundsync_core.db.urls import with_database
from soundsync_core.settings import load_settings

# Reclusters run their blocks in-process unless a test is about Dask (it starts its own cluster):
# a local cluster per recluster would make the suite slow.
os.environ.setdefault("DASK_WORKERS", "0")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of the PostgreSQL server the tests use (maintenance database)."""
    configured = load_settings().database_url
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="soundsync-test-") as folder:
        embedded = EmbeddedDatabase(Path(folder))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


async def _create_database(server: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(server)
    try:
        template_sql = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{template_sql}')
    finally:
        await conn.close()


async def _drop_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> AsyncIterator[str]:
    """A database with every migration applied, copied for each test."""
    name = f"soundsync_tpl_{secrets.token_hex(4)}"
    await _create_database(server_url, name)
    conn = await connect(with_database(server_url, name))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield name
    await _drop_database(server_url, name)


@pytest.fixture
async def empty_db_url(server_url: str) -> AsyncIterator[str]:
    """URL of a brand-new empty database (no migrations)."""
    name = f"soundsync_t_{secrets.token_hex(6)}"
    await _create_database(server_url, name)
    yield with_database(server_url, name)
    await _drop_database(server_url, name)


@pytest.fixture
async def db_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    """URL of a fresh, fully migrated database of this test's own."""
    name = f"soundsync_t_{secrets.token_hex(6)}"
    await _create_database(server_url, name, template=template_database)
    yield with_database(server_url, name)
    await _drop_database(server_url, name)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on this test's own migrated database."""
    pool = await create_pool(db_url, attempts=1, max_size=5)
    yield pool
    await pool.close()
