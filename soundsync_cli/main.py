"""Entry point of the ``soundsync`` command: parse, build the settings, dispatch."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from soundsync_cli import bench_commands, db_commands, demo_commands, engine_commands
from soundsync_cli.errors import CommandError
from soundsync_core.db.migrations import MigrationError
from soundsync_core.db.pool import DatabaseUnavailableError
from soundsync_core.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2

Handler = Callable[[argparse.Namespace, Settings], int]


def _not_built(what: str) -> Handler:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        print(f"soundsync {args.command}: {what} is not built yet", file=sys.stderr)
        return 1

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soundsync",
        description="SoundSync: music-taste matchmaking for Discord.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_commands.register(sub)
    engine_commands.register(sub)
    demo_commands.register(sub)
    bench_commands.register(sub)
    for name, what in (
        ("web", "the web server (issue #4)"),
        ("bot", "the Discord bot (issue #5)"),
        ("run", "bot + web + scheduler in one process (issue #5)"),
    ):
        cmd = sub.add_parser(name, help=f"{what} — not built yet")
        cmd.set_defaults(handler=_not_built(what))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("ignore", module="platformdirs")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.handler(args, settings)
    except ConfigError as exc:
        print(f"soundsync: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except CommandError as exc:
        print(f"soundsync: {exc}", file=sys.stderr)
        return exc.exit_code
    except (DatabaseUnavailableError, MigrationError) as exc:
        print(f"soundsync: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soundsync: interrupted", file=sys.stderr)
        return 130

