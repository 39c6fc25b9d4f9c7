"""The shape of a JSON answer, to hold a fake to a recorded real answer.

:func:`shape` describes a value by its structure, not its content: an object by its keys
and their shapes, a list by the merged shape of its items, a scalar by its JSON type — with
strings that hold a number (Last.fm's ``"1511"``) told apart from other strings. A list and
a lone object (Last.fm's one-element lists) are different shapes. :func:`differences` lists
where two shapes disagree; the fake's answer may leave out a type the recording shows (it
need not produce ``null`` where the recording happened to) but never show one the recording
does not.
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "numeric-string" if _NUMBER.match(value) else "string"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def shape(value: Any) -> dict[str, Any]:
    """``{"types": {...}, "keys": {key: shape}, "items": shape}`` for one JSON value."""
    if isinstance(value, dict):
        return {"types": {"object"}, "keys": {k: shape(v) for k, v in value.items()}, "items": None}
    if isinstance(value, list):
        items = None
        for item in value:
            items = merge(items, shape(item))
        return {"types": {"list"}, "keys": {}, "items": items}
    return {"types": {_scalar(value)}, "keys": {}, "items": None}


def merge(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """One shape describing values of either shape (list items, fields that may be null)."""
    if first is None or second is None:
        return first or second
    keys = {k: merge(first["keys"].get(k), second["keys"].get(k))
            for k in first["keys"].keys() | second["keys"].keys()}
    return {"types": first["types"] | second["types"], "keys": keys,
            "items": merge(first["items"], second["items"])}


def differences(recorded: dict[str, Any], fake: dict[str, Any], path: str = "$") -> list[str]:
    """Where ``fake`` does not look like ``recorded`` (empty: same shape)."""
    found = []
    if not fake["types"] <= recorded["types"]:
        found.append(f"{path}: {sorted(fake['types'])} where the recording has {sorted(recorded['types'])}")
    if "object" in recorded["types"] and "object" in fake["types"]:
        for key in sorted(recorded["keys"].keys() - fake["keys"].keys()):
            found.append(f"{path}.{key}: missing")
        for key in sorted(fake["keys"].keys() - recorded["keys"].keys()):
            found.append(f"{path}.{key}: not in the recording")
        for key in sorted(recorded["keys"].keys() & fake["keys"].keys()):
            found += differences(recorded["keys"][key], fake["keys"][key], f"{path}.{key}")
    if recorded["items"] is not None and fake["items"] is not None:
        found += differences(recorded["items"], fake["items"], f"{path}[]")
    return found
