"""Migrations against a real PostgreSQL: fresh apply, re-apply, concurrent apply, newer schema,
edited file."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from soundsync_core.db.migrations import (
    Migration,
    MigrationError,
    load_migrations,
    migrate,
    migrations_dir,
    refuse_edited_migrations,
    schema_version,
)
from soundsync_core.db.pool import connect

EXPECTED_TABLES = {
    "members", "guilds", "guild_members", "accounts", "oauth_states", "artists", "tracks",
    "track_features", "profiles", "cluster_runs", "live_runs", "cluster_centers",
    "user_clusters", "matches", "match_exclusions", "connection_requests", "dm_outbox",
    "app_state", "schema_migrations",
}


async def _tables(url: str) -> set[str]:
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_fresh_apply_creates_the_data_model(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        report = await migrate(conn)
        assert [m.version for m in report.applied] == [m.version for m in load_migrations()]
        assert await schema_version(conn) == load_migrations()[-1].version
    finally:
        await conn.close()
    assert await _tables(empty_db_url) >= EXPECTED_TABLES


async def test_second_apply_is_a_no_op(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        await migrate(conn)
        again = await migrate(conn)
        assert again.applied == []
        count = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(load_migrations())
    finally:
        await conn.close()


async def test_concurrent_apply_runs_each_migration_once(empty_db_url: str) -> None:
    conns = [await connect(empty_db_url) for _ in range(4)]
    try:
        reports = await asyncio.gather(*(migrate(c) for c in conns))
        applied = [len(r.applied) for r in reports]
        assert sorted(applied) == [0, 0, 0, len(load_migrations())]
        rows = await conns[0].fetch("SELECT version FROM schema_migrations")
        assert len(rows) == len(load_migrations())
    finally:
        for conn in conns:
            await conn.close()


async def test_database_newer_than_code_is_refused(empty_db_url: str) -> None:
    conn = await connect(empty_db_url)
    try:
        await migrate(conn)
        future = Migration(9999, "from_the_future", "SELECT 1")
        await migrate(conn, [*load_migrations(), future])
        with pytest.raises(MigrationError, match="newer than this code"):
            await migrate(conn)
    finally:
        await conn.close()


async def test_failed_migration_leaves_nothing_behind(empty_db_url: str) -> None:
    broken = Migration(1, "broken", "CREATE TABLE half_done (id int); SELECT no_such_column;")
    conn = await connect(empty_db_url)
    try:
        with pytest.raises(Exception, match="no_such_column"):
            await migrate(conn, [broken])
        assert await schema_version(conn) == 0
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    finally:
        await conn.close()


def test_migration_files_are_numbered_and_named(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("SELECT 1")
    (tmp_path / "2_bad.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="NNNN_name"):
        load_migrations(tmp_path)


async def test_a_migration_edited_after_it_was_applied_is_refused(
    empty_db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    conn = await connect(empty_db_url)
    try:
        await migrate(conn, load_migrations(folder))
        await refuse_edited_migrations(conn, load_migrations(folder))
        edited = sorted(folder.glob("0002_*.sql"))[0]
        edited.write_text(edited.read_text() + "\n-- a harmless-looking edit\n")
        expected = f"migration {edited.name} was edited after it was applied"
        with pytest.raises(MigrationError, match=expected) as refused:
            await migrate(conn, load_migrations(folder))
        assert "\n" not in str(refused.value)
        with pytest.raises(MigrationError, match=expected):
            await refuse_edited_migrations(conn, load_migrations(folder))
    finally:
        await conn.close()
