"""Argument types shared by the commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from soundsync_core.snowflakes import InvalidSnowflakeError, parse_snowflake, shown


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers ≥ ``minimum`` with a clear message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {shown(text)}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive = at_least(1)


def add_database_option(cmd: argparse.ArgumentParser) -> None:
    """``--database NAME``: read another database on the same server (the demo's, the sandbox's)."""
    cmd.add_argument("--database", metavar="NAME",
                     help="another database on the same server, e.g. soundsync_demo (the demo's)")


def snowflake(text: str) -> int:
    """An argparse ``type`` for Discord user and guild ids (positive 64-bit integers)."""
    try:
        return parse_snowflake(text)
    except InvalidSnowflakeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
