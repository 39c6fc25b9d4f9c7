"""Commands the tree acknowledges ("thinking…") before anything else, database check included."""

from __future__ import annotations

from typing import Any

from discord import app_commands

# Key in a command's ``extras``: the tree defers it (value: ephemeral?) before anything else.
DEFER_FIRST = "soundsync_defer_first"


def defer_first(*, ephemeral: bool = True) -> dict[str, Any]:
    """``extras`` for a command whose answer is always a followup (see ``SoundSyncTree``)."""
    return {DEFER_FIRST: ephemeral}


def deferred_ephemeral(
    command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu | None,
) -> bool | None:
    """Whether ``command`` is deferred ephemerally, publicly, or (None) not deferred first."""
    if command is None:
        return None
    return command.extras.get(DEFER_FIRST)
