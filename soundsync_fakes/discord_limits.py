"""Discord's payload limits, checked like the real API: an ``errors`` tree for 50035 bodies.

Each check adds ``{"_errors": [{"code", "message"}]}`` under the path of the offending field, so
discord.py's ``HTTPException.text`` reads e.g. ``In embeds.0.title: Must be 256 or fewer in
length.``
"""

from __future__ import annotations

import re
from typing import Any

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_FIELDS = 25
MAX_ROWS = 5
MAX_ROW_CHILDREN = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_ATTACHMENTS = 10
MAX_COMMANDS = {1: 100, 2: 5, 3: 5}
MAX_OPTIONS = 25
# Discord's rule for chat-input names, without the Devanagari/Thai ranges (not needed here).
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
ACTION_ROW = 1
BUTTON = 2


class ErrorTree:
    """Collects field errors in Discord's nested ``errors`` format."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        """Record one error at a field path such as ``("embeds", 0, "title")``."""
        node = self.errors
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: tuple[str | int, ...], value: Any, limit: int) -> None:
        """Error when a string or list is longer than ``limit``."""
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: tuple[str | int, ...], value: Any, low: int, high: int) -> None:
        """Error when a string is missing or its length is outside ``low..high``."""
        if not isinstance(value, str) or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def body(self) -> dict[str, Any] | None:
        """The 50035 body, or None when nothing was wrong."""
        if not self.errors:
            return None
        return {"code": 50035, "message": "Invalid Form Body", "errors": self.errors}


def check_message(body: dict[str, Any], file_count: int) -> dict[str, Any] | None:
    """The 50035 body for an over-limit message create/edit body, else None."""
    tree = ErrorTree()
    tree.max_length(("content",), body.get("content"), MAX_CONTENT)
    embeds = body.get("embeds") or []
    tree.max_length(("embeds",), embeds, MAX_EMBEDS)
    for index, embed in enumerate(embeds):
        _check_embed(tree, ("embeds", index), embed)
    if sum(embed_size(e) for e in embeds) > MAX_EMBED_TOTAL:
        tree.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    _check_components(tree, body.get("components") or [])
    attachments = body.get("attachments") or []
    tree.max_length(("attachments",), [None] * max(file_count, len(attachments)), MAX_ATTACHMENTS)
    return tree.body()


def is_empty_message(body: dict[str, Any], file_count: int) -> bool:
    """Discord refuses (50006) a new message with nothing to show."""
    keys = ("content", "embeds", "components", "sticker_ids", "poll")
    return file_count == 0 and not any(body.get(k) for k in keys)


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6000 limit."""
    texts = [
        embed.get("title"),
        embed.get("description"),
        (embed.get("footer") or {}).get("text"),
        (embed.get("author") or {}).get("name"),
    ]
    for item in embed.get("fields") or []:
        texts += [item.get("name"), item.get("value")]
    return sum(len(t) for t in texts if t)


def _check_embed(tree: ErrorTree, path: tuple[str | int, ...], embed: dict[str, Any]) -> None:
    tree.max_length((*path, "title"), embed.get("title"), 256)
    tree.max_length((*path, "description"), embed.get("description"), 4096)
    if "footer" in embed:
        tree.max_length((*path, "footer", "text"), embed["footer"].get("text"), 2048)
    if "author" in embed:
        tree.max_length((*path, "author", "name"), embed["author"].get("name"), 256)
    fields = embed.get("fields") or []
    tree.max_length((*path, "fields"), fields, MAX_FIELDS)
    for index, item in enumerate(fields):
        tree.length_between((*path, "fields", index, "name"), item.get("name"), 1, 256)
        tree.length_between((*path, "fields", index, "value"), item.get("value"), 1, 1024)


def _check_components(tree: ErrorTree, rows: list[dict[str, Any]]) -> None:
    tree.max_length(("components",), rows, MAX_ROWS)
    for index, row in enumerate(rows):
        if row.get("type") != ACTION_ROW:
            continue  # components v2 layouts are passed through unchecked
        children = row.get("components") or []
        tree.max_length(("components", index, "components"), children, MAX_ROW_CHILDREN)
        for position, child in enumerate(children):
            path = ("components", index, "components", position)
            tree.max_length((*path, "custom_id"), child.get("custom_id"), MAX_CUSTOM_ID)
            if child.get("type") == BUTTON:
                tree.max_length((*path, "label"), child.get("label"), MAX_BUTTON_LABEL)


def check_commands(commands: Any) -> dict[str, Any] | None:
    """The 50035 body for a bulk-overwrite (``PUT .../commands``) body, else None."""
    tree = ErrorTree()
    if not isinstance(commands, list):
        tree.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return tree.body()
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        kind = command.get("type", 1)
        _check_command(tree, (index,), command, kind)
        key = (kind, command.get("name", ""))
        if key in seen:
            tree.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[1]}",
            )
        seen.add(key)
    for kind, limit in MAX_COMMANDS.items():
        if sum(1 for c in commands if c.get("type", 1) == kind) > limit:
            tree.add((), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    return tree.body()


def _check_command(tree: ErrorTree, path: tuple[str | int, ...], command: dict[str, Any], kind: int) -> None:
    name = command.get("name")
    tree.length_between((*path, "name"), name, 1, 32)
    if kind == 1:
        _check_chat_name(tree, (*path, "name"), name)
        tree.length_between((*path, "description"), command.get("description"), 1, 100)
        _check_options(tree, (*path, "options"), command.get("options") or [])
    elif command.get("description"):
        tree.add(
            (*path, "description"),
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION_NOT_EMPTY",
            "Context menu commands cannot have description",
        )


def _check_chat_name(tree: ErrorTree, path: tuple[str | int, ...], name: Any) -> None:
    if isinstance(name, str) and (not _COMMAND_NAME.match(name) or name != name.lower()):
        tree.add(path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name}")


def _check_options(tree: ErrorTree, path: tuple[str | int, ...], options: list[dict[str, Any]]) -> None:
    tree.max_length(path, options, MAX_OPTIONS)
    for index, option in enumerate(options):
        option_path = (*path, index)
        _check_chat_name(tree, (*option_path, "name"), option.get("name"))
        tree.length_between((*option_path, "name"), option.get("name"), 1, 32)
        tree.length_between((*option_path, "description"), option.get("description"), 1, 100)
        tree.max_length((*option_path, "choices"), option.get("choices"), MAX_OPTIONS)
        for position, choice in enumerate(option.get("choices") or []):
            tree.length_between((*option_path, "choices", position, "name"), choice.get("name"), 1, 100)
        _check_options(tree, (*option_path, "options"), option.get("options") or [])
