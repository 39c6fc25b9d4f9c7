"""import-profiles against a real PostgreSQL: upsert, bad lines reported and skipped, round trip."""

from __future__ import annotations

import json

import asyncpg
import pytest

from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.services.importer import import_profiles


def _line(user_id: str, artists: list[str], **extra: object) -> str:
    record = {
        "user_id": user_id,
        "display_name": f"user{user_id}",
        "guild_ids": ["1"],
        "top_artists": [
            {"id": a, "name": a.upper(), "rank": r, "genres": ["rock"] if r == 1 else []}
            for r, a in enumerate(artists, 1)
        ],
        **extra,
    }
    return json.dumps(record)


async def test_good_lines_kept_bad_lines_reported(pool: asyncpg.Pool) -> None:
    tracks = [{"id": "t1", "name": "Song", "artist_ids": ["a1"], "rank": 1, "playcount": 4,
               "audio_features": {"energy": 0.8, "loudness": -6.5, "key": 5}}]
    lines = [
        _line("1001", ["a1", "a2", "a3"], top_tracks=tracks),
        "{not json",
        _line("1002", ["a2", "a4"]),
        json.dumps({"user_id": "1003", "top_artists": [{"id": "a1"}]}),
        json.dumps({"user_id": "abc", "top_artists": [{"id": "a1", "rank": 1}]}),
        "",
        json.dumps({"user_id": "1004", "top_artists": []}),
    ]
    rejected: list[tuple[int, str]] = []
    report = await import_profiles(pool, lines, on_rejected=lambda n, r: rejected.append((n, r)))
    assert report.imported == 2
    assert [n for n, _ in report.rejected] == [2, 4, 5, 7]
    assert rejected == report.rejected
    assert "JSON" in report.rejected[0][1]
    assert "rank" in report.rejected[1][1]
    assert "user_id" in report.rejected[2][1]
    assert "top_artists" in report.rejected[3][1]

    async with pool.acquire() as conn:
        profiles = await load_profiles(conn)
    assert [p.user_id for p in profiles] == [1001, 1002]
    alice = profiles[0]
    assert [a.id for a in alice.artists] == ["a1", "a2", "a3"]
    assert alice.artists[0].genres == ("rock",)
    assert alice.artists[0].name == "A1"
    assert alice.guild_ids == (1,)
    assert alice.tracks[0].playcount == 4
    assert alice.tracks[0].audio_features == pytest.approx({"energy": 0.8, "loudness": -6.5})


async def test_reimport_replaces_the_snapshot(pool: asyncpg.Pool) -> None:
    await import_profiles(pool, [_line("2001", ["x", "y"])])
    await import_profiles(pool, [_line("2001", ["z"])])
    async with pool.acquire() as conn:
        profiles = await load_profiles(conn)
        count = await conn.fetchval("SELECT count(*) FROM profiles WHERE user_id = 2001")
    assert count == 1
    assert [a.id for a in profiles[0].artists] == ["z"]


async def test_same_user_twice_in_one_file_last_line_wins(pool: asyncpg.Pool) -> None:
    report = await import_profiles(pool, [_line("3001", ["x"]), _line("3001", ["y"])])
    assert report.imported == 1
    assert report.superseded == 1
    async with pool.acquire() as conn:
        profiles = await load_profiles(conn)
    assert [a.id for a in profiles[0].artists] == ["y"]
