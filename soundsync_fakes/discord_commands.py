"""Application commands the bot registered (``PUT .../commands``), and invocation data for them.

Like Discord, the fake only delivers interactions for registered commands, so a test that forgets
``tree.sync()`` fails loudly instead of passing against a command Discord would not show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from soundsync_fakes.discord_state import DiscordWorld

CHAT_INPUT = 1
USER_COMMAND = 2
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
USER_OPTION = 6
CHANNEL_OPTION = 7
ATTACHMENT_OPTION = 11
_SUB_TYPES = (SUB_COMMAND, SUB_COMMAND_GROUP)
_ID_TYPES = (6, 7, 8, 9, 11)  # user, channel, role, mentionable, attachment


class CommandRegistry:
    """Global and per-guild command lists, as the bot last overwrote them."""

    def __init__(self, world: DiscordWorld) -> None:
        self.world = world
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.overwrites = 0  # bulk overwrites received (``PUT .../commands``), global and guild

    def listing(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The stored commands (global when ``guild_id`` is None)."""
        if guild_id is None:
            return list(self.global_commands)
        return list(self.guild_commands.get(guild_id, []))

    def overwrite(self, body: list[dict[str, Any]], guild_id: int | None = None) -> list[dict[str, Any]]:
        """Replace a command list; a command keeps its id when its (type, name) survives."""
        self.overwrites += 1
        previous = {(c["type"], c["name"]): c["id"] for c in self.listing(guild_id)}
        stored = [self._stored(c, guild_id, previous) for c in body]
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        return stored

    def _stored(
        self, command: dict[str, Any], guild_id: int | None, previous: dict[tuple[int, str], str]
    ) -> dict[str, Any]:
        kind = command.get("type", CHAT_INPUT)
        permissions = command.get("default_member_permissions")
        stored = {
            "id": previous.get((kind, command["name"]), str(self.world.snowflakes.next())),
            "application_id": str(self.world.application_id),
            "version": str(self.world.snowflakes.next()),
            "type": kind,
            "name": command["name"],
            "description": command.get("description") or "",
            "default_member_permissions": None if permissions is None else str(permissions),
            "nsfw": bool(command.get("nsfw", False)),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
        }
        if command.get("options"):
            stored["options"] = command["options"]
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def find(self, name: str, kind: int, guild_id: int | None) -> dict[str, Any]:
        """The registered command a user could invoke here (guild commands first)."""
        candidates = self.listing(guild_id) if guild_id is not None else []
        for command in [*candidates, *self.global_commands]:
            if command["name"] == name and command["type"] == kind:
                return command
        raise LookupError(f"command {name!r} (type {kind}) is not registered; call tree.sync()")


def chat_input_options(
    command: dict[str, Any], path: list[str], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The ``data.options`` for ``/command [group] [sub] name:value ...``, typed from the schema."""
    schema = command.get("options") or []
    if path:
        sub = _schema_option(schema, path[0], command["name"])
        if sub["type"] not in _SUB_TYPES:
            raise LookupError(f"{path[0]!r} is not a subcommand of {command['name']!r}")
        inner = chat_input_options(sub, path[1:], values)
        return [{"type": sub["type"], "name": sub["name"], "options": inner}]
    options = []
    for name, value in values.items():
        kind = _schema_option(schema, name, command["name"])["type"]
        if kind == ATTACHMENT_OPTION and isinstance(value, Mapping):
            value = value["id"]  # an attachment payload from FakeDiscord.upload
        # Discord sends snowflake-valued options (user, channel, role, ...) as strings.
        options.append({"type": kind, "name": name, "value": str(value) if kind in _ID_TYPES else value})
    return options


def _schema_option(schema: list[dict[str, Any]], name: str, parent: str) -> dict[str, Any]:
    for option in schema:
        if option["name"] == name:
            return option
    raise LookupError(f"{parent!r} has no option {name!r}")


def resolved_for(
    world: DiscordWorld,
    options: list[dict[str, Any]],
    guild_id: int | None,
    attachments: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The ``data.resolved`` map for user, channel and attachment option values (ids as strings).

    ``attachments`` holds the payloads of uploaded files by id.
    """
    resolved: dict[str, dict[str, Any]] = {}
    for option in _leaf_options(options):
        key = str(option["value"])
        if option["type"] == ATTACHMENT_OPTION:
            resolved.setdefault("attachments", {})[key] = (attachments or {})[key]
        elif option["type"] == USER_OPTION:
            add_resolved_user(world, resolved, int(key), guild_id)
        elif option["type"] == CHANNEL_OPTION:
            channel = world.channel_payload(int(key))
            channel["permissions"] = str(world.permissions(guild_id, world.bot.id)) if guild_id else "0"
            resolved.setdefault("channels", {})[key] = channel
    return resolved


def add_resolved_user(
    world: DiscordWorld, resolved: dict[str, dict[str, Any]], user_id: int, guild_id: int | None
) -> None:
    """Add a user (and their member object when in the guild) to a ``resolved`` map."""
    resolved.setdefault("users", {})[str(user_id)] = world.users[user_id].payload()
    if guild_id is not None and user_id in world.guilds[guild_id].members:
        member = world.member_payload(guild_id, user_id, with_user=False)
        resolved.setdefault("members", {})[str(user_id)] = member


def _leaf_options(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    leaves = []
    for option in options:
        if option["type"] in _SUB_TYPES:
            leaves += _leaf_options(option.get("options", []))
        else:
            leaves.append(option)
    return leaves
