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
from tests.integration.bad_import_lines import BAD_LINES, member_line

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample-profiles.jsonl"


@pytest.mark.parametrize("case", sorted(BAD_LINES))
async def test_a_bad_line_is_refused_with_its_number_and_its_neighbours_are_kept(
    pool: asyncpg.Pool, case: str
) -> None:
    bad, reason = BAD_LINES[case]
    report = await import_profiles(pool, [member_line(1), bad, member_line(3)])
    assert report.imported == 2
    assert len(report.rejected) == 1
    number, message = report.rejected[0]
    assert number == 2
    assert reason in message
    async with pool.acquire() as conn:
        assert [p.user_id for p in await load_profiles(conn)] == [1, 3]
        assert await conn.fetchval("SELECT count(*) FROM members WHERE user_id = 2") == 0


async def test_a_batch_the_database_refuses_is_written_line_byline(pool: asyncpg.Pool) -> None:
    # A rule only the database knows: the line passes every check in Python, then fails there.
    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE artists ADD CONSTRAINT test_refused "
                           "CHECK (artist_id <> 'refused-by-the-database')")
    lines = [member_line(1), json.dumps({"user_id": "2", "top_artists": [
        {"id": "refused-by-the-database", "rank": 1}]}), member_line(3), "{broken", member_line(5)]
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
