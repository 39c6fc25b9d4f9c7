"""Numbered, forward-only SQL migrations recorded in the ``schema_migrations`` table.

Each file ``sql/migrations/NNNN_name.sql`` is applied in its own transaction, in order, while a
PostgreSQL advisory lock keeps a second process from migrating at the same time. A database that
already has a version this code does not know is refused rather than guessed at, and so is a
migration file edited after it was applied (its checksum is recorded and compared).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# Any constant will do, as long as every SoundSync process uses the same one.
MIGRATION_LOCK_KEY = 0x50554E44_0001
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The schema cannot be brought to this code's version."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def migrations_dir() -> Path:
    """``sql/migrations`` of a source checkout, or the copy packed inside an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "sql" / "migrations", here / "sql" / "migrations"):
        if candidate.is_dir():
            return candidate
    raise MigrationError("cannot find the sql/migrations folder next to soundsync_core")


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """Every migration file, sorted by version; duplicate or malformed names are errors."""
    folder = folder or migrations_dir()
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations have version {version:04d}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


@dataclass(frozen=True)
class MigrationReport:
    applied: list[Migration]
    current_version: int


async def migrate(
    conn: asyncpg.Connection,
    migrations: list[Migration] | None = None,
    *,
    on_apply: Callable[[Migration], None] | None = None,
) -> MigrationReport:
    """Apply every pending migration; a no-op when the schema is already current."""
    migrations = load_migrations() if migrations is None else migrations
    known = {m.version for m in migrations}
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version     integer PRIMARY KEY,
                   name        text NOT NULL,
                   checksum    text NOT NULL,
                   applied_at  timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        applied_versions = [r["version"] for r in rows]
        unknown = [v for v in applied_versions if v not in known]
        if unknown:
            raise MigrationError(
                f"the database schema is at version {max(applied_versions):04d}, newer than this "
                f"code knows (up to {max(known, default=0):04d}); upgrade SoundSync before "
                "running it"
            )
        _refuse_edited(rows, migrations)
        applied: list[Migration] = []
        for migration in migrations:
            if migration.version in applied_versions:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version, migration.name, migration.checksum,
                )
            applied.append(migration)
            if on_apply is not None:
                on_apply(migration)
        current = max([*applied_versions, *(m.version for m in applied)], default=0)
        return MigrationReport(applied=applied, current_version=current)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


def _refuse_edited(rows: list[asyncpg.Record], migrations: list[Migration]) -> None:
    # An applied migration must never change: the databases that ran the old text would
    # silently differ from the ones that run the new one.
    by_version = {m.version: m for m in migrations}
    for row in rows:
        migration = by_version.get(row["version"])
        if migration is not None and migration.checksum != row["checksum"]:
            raise MigrationError(
                f"migration {migration.filename} was edited after it was applied to this "
                "database; restore it and put the change in a new migration"
            )


async def refuse_edited_migrations(
    conn: asyncpg.Connection, migrations: list[Migration] | None = None
) -> None:
    """Raise ``MigrationError`` naming the first applied migration whose file has changed since."""
    if await schema_version(conn) == 0:
        return
    migrations = load_migrations() if migrations is None else migrations
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
    _refuse_edited(rows, migrations)


async def schema_version(conn: asyncpg.Connection) -> int:
    """The highest applied migration, 0 for an empty database."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
