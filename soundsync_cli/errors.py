"""Errors a command reports as one line on stderr, with its exit code."""


class CommandError(Exception):
    """The command could not do its job; the message says why."""

    exit_code = 1


class UsageError(CommandError):
    """The command was called wrongly (bad argument, missing file)."""

    exit_code = 2
