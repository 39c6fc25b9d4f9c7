"""The link flow with Spotify calls in worker processes, as `soundsync web` runs it.

Everything the gateway sends to a worker (calls, client specs) and everything that comes back
(answers, our Spotify errors with their fields) must survive pickling; threads never tested that.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from tests.integration.link_harness import LinkHarness, link_harness

pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")


@pytest.fixture(scope="module")
def workers() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


@pytest.fixture
async def h(
    pool: asyncpg.Pool, tmp_path: Path, workers: ProcessPoolExecutor
) -> AsyncIterator[LinkHarness]:
    async with link_harness(pool, tmp_path, executor=workers) as harness:
        yield harness


async def test_full_mode_link_through_worker_processes(h: LinkHarness) -> None:
    status, page = await h.link("alice")
    assert status == 200, page
    profile = await h.pool.fetchrow("SELECT * FROM profiles WHERE user_id = 1001")
    assert (len(profile["artist_ids"]), len(profile["track_ids"])) == (12, 30)
    assert await h.pool.fetchval("SELECT count(*) FROM artists WHERE genres <> '{}'") == 12
    assert await h.pool.fetchval("SELECT count(*) FROM track_features WHERE provider = 'spotify'") > 0


async def test_development_mode_errors_cross_the_process_boundary(h: LinkHarness) -> None:
    h.fake.set_mode("development")
    status, page = await h.link("bob")  # 403 "User not registered" raised in a worker
    assert status == 403
    assert "allowlist" in page
    status, page = await h.link("alice", user_id=1002)  # 403 on audio features → ReccoBeats
    assert status == 200, page
    providers = {r["provider"] for r in await h.pool.fetch("SELECT provider FROM track_features")}
    assert "reccobeats" in providers
    assert "spotify" not in providers


async def test_quota_exceeded_keeps_its_retry_after_across_processes(h: LinkHarness) -> None:
    query = await h.consent("alice")
    h.fake.set_mode("quota_exceeded", retry_after=3600, count=1)
    started = time.monotonic()
    status, page = await h.callback(query)
    assert time.monotonic() - started < 2.0
    assert status == 200
    assert "quota" in page
    assert h.gateway.gate.remaining() > 3000  # the 429's Retry-After survived pickling


async def test_server_errors_from_workers_are_retried(h: LinkHarness) -> None:
    query = await h.consent("alice")
    h.fake.set_mode("server_error", count=2)
    status, page = await h.callback(query)
    assert status == 200, page
    assert await h.count("profiles") == 1
