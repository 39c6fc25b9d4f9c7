"""Engine commands: import-profiles, recluster, matches, export-matches, tribes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TypeVar

import asyncpg

from soundsync_cli.args import add_database_option, positive, snowflake
from soundsync_cli.bootstrap import recluster_runner
from soundsync_cli.errors import CommandError, UsageError
from soundsync_cli.progress import Progress
from soundsync_cli.render import match_list_json, render_match_table, render_tribes
from soundsync_cli.runtime import configure_logging, database_url, open_pool
from soundsync_core.profiles.jsonl import ProfileFormatError, read_lines
from soundsync_core.services.community_views import (
    NoGuildMembersError,
    NoLiveRunError,
    export_guild_matches,
    guild_tribes,
)
from soundsync_core.services.importer import ImportReport, import_profiles
from soundsync_core.services.matches import MatchLookupError, matches_for
from soundsync_core.services.recluster import (
    NothingToClusterError,
    ReclusterBusyError,
    ReclusterSummary,
    recluster,
)
from soundsync_core.settings import Settings

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "import-profiles", help="upsert member profiles from a JSONL file (docs/import-format.md)"
    )
    cmd.add_argument("file", help="JSONL file, one member per line ('-' = standard input)")
    cmd.set_defaults(handler=run_import)

    cmd = sub.add_parser("recluster", help="rebuild tribes and matches, then switch them live")
    cmd.add_argument("--guild", type=snowflake, metavar="GUILD_ID",
                     help="only this guild's members (default: every guild and the global scope)")
    cmd.set_defaults(handler=run_recluster)

    cmd = sub.add_parser("matches", help="a member's matches from the live run")
    cmd.add_argument("user_id", type=snowflake, help="the member's Discord user id")
    scope = cmd.add_mutually_exclusive_group(required=True)
    scope.add_argument("--guild", type=snowflake, metavar="GUILD_ID",
                       help="matches among this guild's members")
    scope.add_argument("--global", dest="global_scope", action="store_true",
                       help="matches among members whose visibility is 'global'")
    cmd.add_argument("--limit", type=positive, default=10, help="how many matches (default 10)")
    cmd.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    add_database_option(cmd)
    cmd.set_defaults(handler=run_matches)

    cmd = sub.add_parser("export-matches", help="one JSON line per member of a guild")
    cmd.add_argument("--guild", type=snowflake, required=True, metavar="GUILD_ID",
                     help="the guild whose members' matches are exported")
    cmd.add_argument("--limit", type=positive, default=20,
                     help="matches per member (default 20)")
    add_database_option(cmd)
    cmd.set_defaults(handler=run_export)

    cmd = sub.add_parser("tribes", help="the taste tribes of a guild")
    cmd.add_argument("--guild", type=snowflake, required=True, metavar="GUILD_ID",
                     help="the guild whose tribes are shown")
    add_database_option(cmd)
    cmd.set_defaults(handler=run_tribes)


@contextlib.contextmanager
def _import_file(path: str) -> Iterator[Iterator[bytes]]:
    """The file's lines; a file that cannot be read, or is no text at all, is one clear line."""
    with contextlib.ExitStack() as stack:
        try:
            stream = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
            lines = read_lines(stream)
            first = next(lines, None)  # reads the head: a binary file is refused before any work
        except FileNotFoundError:
            raise UsageError(f"import-profiles: no such file: {path}") from None
        except IsADirectoryError:
            raise UsageError(f"import-profiles: {path} is a directory, not a JSONL file") from None
        except OSError as exc:
            raise UsageError(f"import-profiles: cannot read {path}: {exc.strerror}") from None
        except ProfileFormatError as exc:
            raise UsageError(f"import-profiles: {path} is {exc}") from None
        yield itertools.chain(() if first is None else (first,), lines)


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every line was imported, 1 (after the summary) when any line was refused."""
    configure_logging(settings)
    with _import_file(args.file) as lines, database_url(settings) as url:
        report = asyncio.run(_import(settings, url, lines))
    print(report.summary())
    return 1 if report.rejected else 0


async def _import(settings: Settings, url: str, lines: Iterator[bytes]) -> ImportReport:
    def rejected(number: int, reason: str) -> None:
        print(f"line {number}: {reason} (refused)", file=sys.stderr)

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


def run_recluster(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    with database_url(settings) as url:
        summary = asyncio.run(_recluster(settings, url, args.guild))
    print(summary.text())
    return 0


async def _recluster(settings: Settings, url: str, guild_id: int | None) -> ReclusterSummary:
    async with open_pool(settings, url) as pool:
        try:
            return await recluster(pool, guild_id=guild_id, progress=Progress("recluster"),
                                   runner=partial(recluster_runner, settings))
        except (ReclusterBusyError, NothingToClusterError) as exc:
            raise CommandError(str(exc)) from None


def run_matches(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    guild = None if args.global_scope else args.guild
    with database_url(settings, args.database) as url:
        result = asyncio.run(_with_pool(
            settings, url, lambda pool: matches_for(pool, args.user_id, guild, args.limit)
        ))
    if args.json:
        print(json.dumps(match_list_json(args.user_id, result), ensure_ascii=False))
        return 0
    print(render_match_table(result))
    return 0


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    with database_url(settings, args.database) as url:
        asyncio.run(_with_pool(settings, url, lambda pool: _export(pool, args)))
    return 0


async def _export(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    async for record in export_guild_matches(pool, args.guild, args.limit):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def run_tribes(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    with database_url(settings, args.database) as url:
        tribes = asyncio.run(_with_pool(settings, url, lambda pool: guild_tribes(pool, args.guild)))
    print(render_tribes(tribes))
    return 0


async def _with_pool(
    settings: Settings, url: str, use: Callable[[asyncpg.Pool], Awaitable[T]]
) -> T:
    async with open_pool(settings, url) as pool:
        try:
            return await use(pool)
        except (MatchLookupError, NoLiveRunError, NoGuildMembersError) as exc:
            raise CommandError(str(exc)) from None
