"""import-profiles against a real PostgreSQL: each line judged on its own, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundsync_core.profiles.jsonl import ProfileFormatError, parse_profile_line
from soundsync_core.repositories.profiles import load_profiles
from soundsync_core.services.importer import import_profiles
from tests.import_strategies import json_values, records

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample-profiles.jsonl"


def _line(user_id: int, **artist: object) -> str:
    return json.dumps({"user_id": str(user_id), "display_name": f"m{user_id}", "guild_ids": ["1"],
                       "top_artists": [{"id": f"a{user_id}", "rank": 1, **artist}]})


def _track_line(user_id: int, **features: object) -> str:
    return json.dumps({"user_id": str(user_id), "top_artists": [{"id": "a", "rank": 1}],
                       "top_tracks": [{"id": f"t{user_id}", "rank": 1, "audio_features": features}]})


# Each of these was a traceback that rolled back its whole batch (issue #13).
BAD_LINES = {
    "rank beyond int32": (_line(2, rank=10**30), "rank"),
    "playcount beyond int32": (_line(2, playcount=10**30), "playcount"),
    "audio feature beyond float32": (_track_line(2, energy=1e308), "energy"),
    "NUL in an artist name": (_line(2, name="Sig\u0000ur Rós"), "NUL"),
    "NUL in the display name": (json.dumps({"user_id": "2", "display_name": "a\u0000",
                                            "top_artists": [{"id": "a", "rank": 1}]}), "NUL"),
    "lone surrogate in a name": (_line(2, name="\ud800"), "invalid Unicode"),
    "100,000-character artist id": (
        json.dumps({"user_id": "2", "top_artists": [{"id": "x" * 100_000, "rank": 1}]}), "at most 200"),
    "user id beyond int64": (json.dumps({"user_id": str(2**63), "top_artists": [{"id": "a", "rank": 1}]}),
                             "Discord id"),
    "not UTF-8": (b'{"user_id": "2", "top_artists": [{"id": "\xe9", "rank": 1}]}', "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
async def test_a_bad_line_is_refused_with_its_number_and_its_neighbours_are_kept(
    pool: asyncpg.Pool, case: str
) -> None:
    bad, reason = BAD_LINES[case]
    report = await import_profiles(pool, [_line(1), bad, _line(3)])
    assert report.imported == 2
    assert len(report.rejected) == 1
    number, message = report.rejected[0]
    assert number == 2
    assert reason in message
    async with pool.acquire() as conn:
        assert [p.user_id for p in await load_profiles(conn)] == [1, 3]
        assert await conn.fetchval("SELECT count(*) FROM members WHERE user_id = 2") == 0


async def test_a_batch_the_database_refuses_is_written_line_by_line(pool: asyncpg.Pool) -> None:
    # A rule only the database knows: the line passes every check in Python, then fails there.
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE artists ADD CONSTRAINT test_refused "
                           "CHECK (artist_id <> 'refused-by-the-database')")
    lines = [_line(1), json.dumps({"user_id": "2", "top_artists": [
        {"id": "refused-by-the-database", "rank": 1}]}), _line(3), "{broken", _line(5)]
    rejected: list[tuple[int, str]] = []
    report = await import_profiles(pool, lines, on_rejected=lambda n, r: rejected.append((n, r)))
    assert report.imported == 3
    assert [n for n, _ in report.rejected] == [2, 4]
    assert "the database refused it" in dict(report.rejected)[2]
    assert "test_refused" in dict(report.rejected)[2]
    assert sorted(rejected) == report.rejected
    async with pool.acquire() as conn:
        assert [p.user_id for p in await load_profiles(conn)] == [1, 3, 5]
        assert await conn.fetchval("SELECT count(*) FROM members WHERE user_id = 2") == 0


async def test_the_documented_sample_file_imports_cleanly(pool: asyncpg.Pool) -> None:
    report = await import_profiles(pool, SAMPLE.read_bytes().splitlines(keepends=True))
    assert (report.imported, report.rejected) == (3, [])
    async with pool.acquire() as conn:
        profiles = await load_profiles(conn)
    assert [p.user_id for p in profiles] == [1001, 1002, 1003]
    assert profiles[0].tracks[0].audio_features is not None


_TABLES = "members, guild_members, profiles, artists, tracks, track_features"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=st.lists(
    st.one_of(records.map(json.dumps), json_values.map(json.dumps), st.binary(max_size=60)),
    max_size=8,
))
async def test_any_lines_nothing_escapes_and_nothing_is_half_written(
    pool: asyncpg.Pool, lines: list[str | bytes]
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {_TABLES} CASCADE")
    report = await import_profiles(pool, lines)
    expected = {}
    for line in lines:
        try:
            profile = parse_profile_line(line) if line.strip() else None
        except ProfileFormatError:
            continue
        if profile is not None:
            expected[profile.user_id] = profile  # a later line for a member wins
    assert report.imported + report.superseded + len(report.rejected) + report.blank == len(lines)
    async with pool.acquire() as conn:
        stored = {p.user_id: p for p in await load_profiles(conn)}
        members = {r["user_id"] for r in await conn.fetch("SELECT user_id FROM members")}
    assert stored.keys() == members == expected.keys()
    for user_id, profile in expected.items():
        assert [a.id for a in stored[user_id].artists] == [a.id for a in profile.artists]
        assert [t.id for t in stored[user_id].tracks] == [t.id for t in profile.tracks]
