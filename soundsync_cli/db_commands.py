"""``soundsync migrate`` and ``soundsync db-url``."""

from __future__ import annotations

import argparse
import asyncio

from soundsync_cli.runtime import configure_logging, database_url, open_connection
from soundsync_core.db.migrations import Migration, MigrationReport, migrate
from soundsync_core.db.urls import mask_url
from soundsync_core.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("migrate", help="apply pending database migrations")
    cmd.set_defaults(handler=run_migrate)
    cmd = sub.add_parser("db-url", help="print the database URL in use (password masked)")
    cmd.set_defaults(handler=run_db_url)


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    with database_url(settings) as url:
        report = asyncio.run(_migrate(settings, url))
    if report.applied:
        count = len(report.applied)
        print(f"applied {count} migration(s); schema at version {report.current_version:04d}")
    else:
        print(f"nothing to apply; schema at version {report.current_version:04d}")
    return 0


async def _migrate(settings: Settings, url: str) -> MigrationReport:
    def announce(migration: Migration) -> None:
        print(f"applying {migration.version:04d}_{migration.name} ... done", flush=True)

    async with open_connection(settings, url) as conn:
        return await migrate(conn, on_apply=announce)


def run_db_url(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        print(mask_url(settings.database_url))
        return 0
    with database_url(settings) as url:
        print(mask_url(url))
    return 0
