"""Discord messages as plain text for the sandbox terminal: embeds, files and numbered buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_LINK_STYLE = 5


@dataclass(frozen=True)
class Button:
    """A button the person can press by its number (a link button opens a page instead)."""

    number: int
    message_id: int
    label: str
    custom_id: str | None
    url: str | None
    disabled: bool


def render_message(message_id: int, data: dict[str, Any], first_number: int) -> tuple[str, list[Button]]:
    """The message as text, and its buttons numbered from ``first_number``."""
    lines = [_plain(data["content"])] if data.get("content") else []
    for embed in data.get("embeds", []):
        lines += _embed(embed)
    # The fake serves attached files (the charts): the URL opens them in a browser.
    lines += [f"  [file] {a['filename']}: {a['url']}" for a in data.get("attachments", [])]
    buttons = _buttons(message_id, data, first_number)
    if buttons:
        lines.append("  " + "  ".join(_button_text(b) for b in buttons))
    return "\n".join(lines) or "(an empty message)", buttons


def _plain(text: str) -> str:
    # Discord's bold markers read as noise in a terminal.
    return text.replace("**", "")


def _embed(embed: dict[str, Any]) -> list[str]:
    lines = []
    if embed.get("title"):
        lines.append(f"== {_plain(embed['title'])} ==")
    if embed.get("description"):
        lines.append(_plain(embed["description"]))
    for field in embed.get("fields", []):
        lines.append(f"  {_plain(field['name'])}:")
        lines += [f"    {line}" for line in _plain(field["value"]).splitlines()]
    if embed.get("footer", {}).get("text"):
        lines.append(f"  -- {_plain(embed['footer']['text'])}")
    return lines


def _buttons(message_id: int, data: dict[str, Any], first_number: int) -> list[Button]:
    found = [c for row in data.get("components", []) for c in row.get("components", [])
             if c.get("type") == 2]
    return [
        Button(number, message_id, c.get("label") or c.get("emoji", {}).get("name", "?"),
               c.get("custom_id"), c.get("url") if c.get("style") == _LINK_STYLE else None,
               bool(c.get("disabled")))
        for number, c in enumerate(found, first_number)
    ]


def _button_text(button: Button) -> str:
    state = " (disabled)" if button.disabled else ""
    return f"[{button.number}] {button.label}{' ↗' if button.url else ''}{state}"
