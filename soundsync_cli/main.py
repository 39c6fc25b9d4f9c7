"""Entry point of the ``soundsync`` command: parse, build the settings, dispatch."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from importlib.metadata import version
from typing import NoReturn

from soundsync_cli import (
    bench_commands,
    bot_commands,
    db_commands,
    demo_commands,
    engine_commands,
    web_commands,
)
from soundsync_cli.errors import CommandError
from soundsync_core.db.migrations import MigrationError
from soundsync_core.db.pool import DatabaseUnavailableError
from soundsync_core.settings import ConfigError, load_settings

EXIT_CONFIG = 2


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments get one line (what is wrong, where to read more), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="soundsync",
        description="SoundSync: music-taste matchmaking for Discord.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('soundsync')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_commands.register(sub)
    engine_commands.register(sub)
    demo_commands.register(sub)
    bench_commands.register(sub)
    web_commands.register(sub)
    bot_commands.register(sub)
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

