"""The recluster on a 2-worker Dask ``LocalCluster``: the same run as in-process, a worker killed
mid-run, and failures past Dask's retries (the previous run keeps serving)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import asyncpg
import dask
import pytest
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin
from distributed.client import FutureCancelledError

from soundsync_bench.scale_data import generate_scale_community, load_scale_community
from soundsync_core.repositories import members
from soundsync_core.services.dask_runner import DaskRunner
from soundsync_core.services.matches import matches_for
from soundsync_core.services.recluster import RunnerFactory, recluster
from soundsync_core.taste import neighbours

MEMBERS = 3_000
BIG_GUILD = 1

MakeClient = Callable[..., Client]


class KillWorker(WorkerPlugin):
    """Kills the worker process as a scoring task starts: once (the first to create ``marker``)
    or, without a marker, every time."""

    def __init__(self, marker: str | None) -> None:
        self.marker = marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).startswith("match_block"):
            return
        if self.marker is not None:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
        os._exit(1)


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    made: list[tuple[LocalCluster, Client]] = []

    def make(plugin: WorkerPlugin | None = None, allowed_failures: int = 3) -> Client:
        with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
        client = Client(cluster)
        made.append((cluster, client))
        if plugin is not None:
            client.register_plugin(plugin)
        return client

    yield make
    for cluster, client in made:
        client.close()
        cluster.close()


@pytest.fixture(autouse=True)
def _search_above_400(monkeypatch: pytest.MonkeyPatch) -> None:
    # The big guild (600 members) then uses the candidate search, as guilds above 5,000 do.
    monkeypatch.setattr(neighbours, "EXACT_LIMIT", 400)


async def _seed(pool: asyncpg.Pool) -> None:
    community = generate_scale_community(MEMBERS, seed=3)
    async with pool.acquire() as conn:
        await load_scale_community(conn, community)
        # Hidden members must stay out of every list on both paths.
        await members.set_visibility(conn, list(range(1, MEMBERS, 97)), "hidden")


def _on(client: Client) -> RunnerFactory:
    return lambda: nullcontext(DaskRunner(client))


async def _stored(pool: asyncpg.Pool, run_id: int) -> tuple[list[tuple], list[tuple]]:
    matches = await pool.fetch(
        """SELECT scope_id, user_id, rank, other_id, score, why FROM matches WHERE run_id = $1
           ORDER BY scope_id, user_id, rank""", run_id)
    tribes = await pool.fetch(
        "SELECT user_id, cluster, distance, map_x, map_y FROM user_clusters WHERE run_id = $1"
        " ORDER BY user_id", run_id)
    return [tuple(r) for r in matches], [tuple(r) for r in tribes]


async def test_dask_run_stores_exactly_the_in_process_run(
    pool: asyncpg.Pool, make_client: MakeClient
) -> None:
    await _seed(pool)
    client = await asyncio.to_thread(make_client)
    in_process = await recluster(pool)
    on_dask = await recluster(pool, runner=_on(client))
    expected, got = await _stored(pool, in_process.run_id), await _stored(pool, on_dask.run_id)
    assert len(expected[0]) == in_process.matches > MEMBERS * 10
    assert got == expected


async def test_a_worker_killed_mid_run_changes_nothing(
    pool: asyncpg.Pool, make_client: MakeClient, tmp_path: Path
) -> None:
    await _seed(pool)
    marker = tmp_path / "killed"
    client = await asyncio.to_thread(make_client, KillWorker(str(marker)))
    in_process = await recluster(pool)
    on_dask = await recluster(pool, runner=_on(client))
    assert marker.exists()  # a worker did die
    assert await _stored(pool, on_dask.run_id) == await _stored(pool, in_process.run_id)


async def test_failures_past_the_retries_fail_the_run_and_the_previous_one_serves(
    pool: asyncpg.Pool, make_client: MakeClient
) -> None:
    await _seed(pool)
    previous = await recluster(pool)
    asker = await pool.fetchval(
        "SELECT user_id FROM guild_members WHERE guild_id = $1 ORDER BY user_id LIMIT 1 OFFSET 1",
        BIG_GUILD)
    before = await matches_for(pool, asker, BIG_GUILD)
    assert before.matches
    client = await asyncio.to_thread(make_client, KillWorker(None), 1)
    # A task that killed its worker too often (KilledWorker), or the run's vectors lost with the
    # last worker holding them (the task is cancelled): either way the run fails.
    with pytest.raises((KilledWorker, FutureCancelledError)):
        await asyncio.wait_for(recluster(pool, runner=_on(client)), timeout=240)
    runs = await pool.fetch(
        "SELECT run_id, status, metrics->>'error' AS error FROM cluster_runs ORDER BY run_id")
    assert [r["status"] for r in runs] == ["complete", "failed"]
    assert runs[-1]["error"]
    assert await pool.fetchval("SELECT DISTINCT run_id FROM live_runs") == previous.run_id
    after = await matches_for(pool, asker, BIG_GUILD)
    assert after.run_id == previous.run_id
    assert after.matches == before.matches
