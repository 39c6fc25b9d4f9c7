"""Every extension loads, and the command tree is one Discord will accept."""

from __future__ import annotations

from typing import Any

import asyncpg
from discord import app_commands

from bot.bot import EXTENSIONS, SoundSyncBot
from bot.defer_first import deferred_ephemeral
from soundsync_core.settings import load_settings


async def test_every_extension_loads_with_unique_well_formed_commands(pool: asyncpg.Pool) -> None:
    bot = SoundSyncBot(pool=pool, settings=load_settings(_env_file=None), vault=None)
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    try:
        _check_tree(bot)
    finally:
        for extension in EXTENSIONS:
            await bot.unload_extension(extension)


def _check_tree(bot: SoundSyncBot) -> None:
    assert set(bot.extensions) == set(EXTENSIONS)
    commands = bot.tree.get_commands()
    keys = [(type(c).__name__, c.name) for c in commands]
    assert len(keys) == len(set(keys))
    slash = [c for c in commands if isinstance(c, app_commands.Command)]
    for command in slash:
        payload: dict[str, Any] = command.to_dict(bot.tree)
        assert 1 <= len(payload["name"]) <= 32
        assert payload["name"] == payload["name"].lower()
        assert 1 <= len(payload["description"]) <= 100
    names = {c.name for c in commands}
    # Acknowledged before the tree's database check; /unlink answers at once with its Confirm button.
    assert {c.name for c in commands if deferred_ephemeral(c) is None} == {"unlink"}
    assert {"link", "unlink", "profile", "matches", "compare", "tribes", "settings",
            "recluster", "soundsync-stats", "digest-channel", "Compare taste"} <= names
