"""Text PostgreSQL can store: no NUL character, valid UTF-8 (no lone surrogate)."""

from __future__ import annotations


def storable(text: str) -> bool:
    """Whether PostgreSQL's ``text`` stores ``text`` (asyncpg would fail on it otherwise)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
