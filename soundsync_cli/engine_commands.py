"""Engine commands: import-profiles (more: recluster, matches, export-matches, tribes)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

from soundsync_cli.errors import UsageError
from soundsync_cli.runtime import configure_logging, database_url, open_pool
from soundsync_core.services.importer import ImportReport, import_profiles
from soundsync_core.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "import-profiles", help="upsert member profiles from a JSONL file (DESIGN §9)"
    )
    cmd.add_argument("file", help="JSONL file, one member per line ('-' = standard input)")
    cmd.set_defaults(handler=run_import)


def _lines(path: str) -> Iterator[str]:
    if path == "-":
        yield from sys.stdin
        return
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"import-profiles: no such file: {path}")
    with file.open(encoding="utf-8") as fh:
        yield from fh


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    lines = _lines(args.file)
    with database_url(settings) as url:
        report = asyncio.run(_import(settings, url, lines))
    print(report.summary())
    return 0 if report.imported or not report.rejected else 1


async def _import(settings: Settings, url: str, lines: Iterator[str]) -> ImportReport:
    def rejected(number: int, reason: str) -> None:
        print(f"line {number}: {reason} (skipped)", file=sys.stderr)

    total = 0

    def progress(count: int) -> None:
        nonlocal total
        total += count
        if sys.stderr.isatty():
            print(f"\rimported {total} …", end="", file=sys.stderr)

    async with open_pool(settings, url) as pool:
        report = await import_profiles(pool, lines, on_rejected=rejected, on_progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return report
