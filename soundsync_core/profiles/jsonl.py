"""The profile import format (DESIGN §9): one member per JSON line.

``rank`` is required (1 = top); ``playcount``, ``genres``, ``audio_features`` and ``top_tracks``
are optional. Every defect is reported as a :class:`ProfileFormatError` whose message says what
is wrong, so the importer can name the line and go on with the next.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from soundsync_core.taste.profile import AUDIO_FEATURES, RankedArtist, RankedTrack, TasteProfile

MAX_ITEMS = 1000
_SNOWFLAKE_MAX = 2**63 - 1


class ProfileFormatError(ValueError):
    """A line of the import file is not a valid profile."""


def parse_profile_line(line: str) -> TasteProfile:
    """Parse one JSONL line into a :class:`TasteProfile` (source ``import``)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProfileFormatError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ProfileFormatError("a line must be a JSON object")
    return parse_profile(record)


def parse_profile(record: Mapping[str, Any]) -> TasteProfile:
    """Validate one decoded record and build the profile."""
    user_id = _snowflake(record.get("user_id"), "user_id")
    guild_ids = record.get("guild_ids", [])
    if not isinstance(guild_ids, list):
        raise ProfileFormatError("guild_ids must be a list")
    artists = _artists(record.get("top_artists"))
    tracks = _tracks(record.get("top_tracks", []))
    display_name = record.get("display_name") or ""
    if not isinstance(display_name, str):
        raise ProfileFormatError("display_name must be a string")
    return TasteProfile(
        user_id=user_id,
        artists=artists,
        tracks=tracks,
        display_name=display_name[:100],
        guild_ids=tuple(_snowflake(g, "guild_ids[]") for g in guild_ids),
        sources=("import",),
    )


def _snowflake(value: Any, field: str) -> int:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not text.isdigit() or not 0 < int(text) <= _SNOWFLAKE_MAX:
        raise ProfileFormatError(f"{field} must be a Discord id (digits), got {value!r}")
    return int(text)


def _items(value: Any, field: str, *, required: bool) -> list[Mapping[str, Any]]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise ProfileFormatError(f"{field} must be a non-empty list" if required else
                                 f"{field} must be a list")
    if len(value) > MAX_ITEMS:
        raise ProfileFormatError(f"{field} has {len(value)} items; at most {MAX_ITEMS}")
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise ProfileFormatError(f"{field}[{position}] must be an object")
    return value


def _common(item: Mapping[str, Any], field: str, seen: set[str], ranks: set[int]) -> tuple:
    item_id = item.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        raise ProfileFormatError(f"{field}: every item needs a non-empty string id")
    if item_id in seen:
        raise ProfileFormatError(f"{field}: id {item_id!r} appears twice")
    rank = item.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise ProfileFormatError(f"{field}: {item_id!r} needs a rank ≥ 1 (1 = top), got {rank!r}")
    if rank in ranks:
        raise ProfileFormatError(f"{field}: rank {rank} is used twice")
    playcount = item.get("playcount")
    if playcount is not None and (
        not isinstance(playcount, int) or isinstance(playcount, bool) or playcount < 0
    ):
        raise ProfileFormatError(f"{field}: {item_id!r} playcount must be a whole number ≥ 0")
    name = item.get("name") or item_id
    if not isinstance(name, str):
        raise ProfileFormatError(f"{field}: {item_id!r} name must be a string")
    seen.add(item_id)
    ranks.add(rank)
    return item_id, rank, name, playcount


def _artists(value: Any) -> tuple[RankedArtist, ...]:
    seen: set[str] = set()
    ranks: set[int] = set()
    artists = []
    for item in _items(value, "top_artists", required=True):
        artist_id, rank, name, playcount = _common(item, "top_artists", seen, ranks)
        genres = item.get("genres") or []
        if not isinstance(genres, list) or not all(isinstance(g, str) for g in genres):
            raise ProfileFormatError(f"top_artists: {artist_id!r} genres must be a list of strings")
        artists.append(RankedArtist(artist_id, rank, name, playcount, tuple(genres)))
    return tuple(sorted(artists, key=lambda a: a.rank))


def _tracks(value: Any) -> tuple[RankedTrack, ...]:
    seen: set[str] = set()
    ranks: set[int] = set()
    tracks = []
    for item in _items(value, "top_tracks", required=False):
        track_id, rank, name, playcount = _common(item, "top_tracks", seen, ranks)
        artist_ids = item.get("artist_ids") or []
        if not isinstance(artist_ids, list) or not all(isinstance(a, str) for a in artist_ids):
            raise ProfileFormatError(f"top_tracks: {track_id!r} artist_ids must be strings")
        features = _features(item.get("audio_features"), track_id)
        tracks.append(RankedTrack(track_id, rank, name, tuple(artist_ids), playcount, features))
    return tuple(sorted(tracks, key=lambda t: t.rank))


def _features(value: Any, track_id: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProfileFormatError(f"top_tracks: {track_id!r} audio_features must be an object")
    features = {}
    for name, number in value.items():
        if name not in AUDIO_FEATURES:
            continue  # providers add fields (key, mode, …) that the taste model does not use
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(
            number
        ):
            raise ProfileFormatError(f"top_tracks: {track_id!r} {name} must be a number")
        features[name] = float(number)
    return features or None
