"""Profiles as DESIGN §9 JSONL records (the format of ``soundsync import-profiles``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile


def profile_record(profile: TasteProfile) -> dict[str, Any]:
    """One member as a §9 record; optional fields appear only when known."""
    record: dict[str, Any] = {
        "user_id": str(profile.user_id),
        "display_name": profile.display_name,
        "guild_ids": [str(g) for g in profile.guild_ids],
        "top_artists": [_artist(a) for a in profile.artists],
    }
    if profile.tracks:
        record["top_tracks"] = [_track(t) for t in profile.tracks]
    return record


def _artist(artist: RankedArtist) -> dict[str, Any]:
    out: dict[str, Any] = {"id": artist.id, "name": artist.name, "rank": artist.rank}
    if artist.playcount is not None:
        out["playcount"] = artist.playcount
    if artist.genres:
        out["genres"] = list(artist.genres)
    return out


def _track(track: RankedTrack) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": track.id,
        "name": track.name,
        "artist_ids": list(track.artist_ids),
        "rank": track.rank,
    }
    if track.playcount is not None:
        out["playcount"] = track.playcount
    if track.audio_features is not None:
        out["audio_features"] = dict(track.audio_features)
    return out


def jsonl_lines(profiles: Iterable[TasteProfile]) -> Iterator[str]:
    """One compact JSON line (no trailing newline) per profile."""
    for profile in profiles:
        yield json.dumps(profile_record(profile), ensure_ascii=False, separators=(",", ":"))


def write_jsonl(profiles: Iterable[TasteProfile], path: Path | str) -> int:
    """Write ``profiles`` to ``path`` as §9 JSONL; returns how many members were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for line in jsonl_lines(profiles):
            out.write(line + "\n")
            count += 1
    return count
