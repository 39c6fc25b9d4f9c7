"""``soundsync bench recluster`` end to end on a small community: real import, real recluster."""

from __future__ import annotations

import asyncpg

from soundsync_bench.recluster import format_markdown, run_recluster_bench


async def test_small_bench_reports_what_the_recluster_wrote(pool: asyncpg.Pool) -> None:
    said: list[str] = []
    report = await run_recluster_bench(pool, 120, seed=3, say=said.append)
    assert report.summary is not None
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM matches WHERE run_id = $1", report.summary.run_id)
        global_members = await conn.fetchval("SELECT count(*) FROM members WHERE visibility = 'global'")
    assert report.summary.matches == stored > 0
    assert report.global_members == global_members > 0
    stages = {"load", "fit", "tribes (beside matching)", "matching and writing", "index", "switch"}
    assert stages <= set(report.stages)
    text = format_markdown(report)
    assert f"{stored:,} match rows written" in text
    assert "| **recluster total** |" in text
    assert said[0].startswith("generating 120 synthetic members")
