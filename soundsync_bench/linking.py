"""Benchmark: many concurrent OAuth callbacks through the real web app against fake Spotify.

The fake Spotify runs in its own process (so its work does not count as our event loop's);
the web app, its pool and a stall monitor share this process's loop. Each member is first
walked to the callback (``/link`` → Continue → consent); then every callback is fired at once and we
measure each one's latency and the event loop's worst lateness while they ingest.

The core never imports the web app: the composition root passes ``start_web``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
from cryptography.fernet import Fernet

from soundsync_core.db.databases import drop_database, side_database
from soundsync_core.db.pool import create_pool
from soundsync_core.repositories.profiles import profile_count
from soundsync_core.security.vault import TokenVault
from soundsync_core.services.linking import start_link
from soundsync_core.settings import Settings, load_settings
from soundsync_fakes.browser import continue_to_provider

STALL_TICK = 0.010
# start_web(settings, pool) → (base URL, stop coroutine function)
StartWeb = Callable[[Settings, asyncpg.Pool], Awaitable[tuple[str, Callable[[], Awaitable[None]]]]]


@dataclass(frozen=True)
class LinkBenchReport:
    """The figures of one run."""

    members: int
    errors: int
    profiles_stored: int
    wall_seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    max_stall_ms: float
    load_average: float  # 1-minute load of the machine when the callbacks started
    spotify_workers: int = 0  # worker processes for Spotify calls (0: threads)


async def _recv(pipe: Connection) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


async def _outside_world_main(pipe: Connection, members: int) -> None:
    from soundsync_fakes.spotify import FakeSpotify

    fake = FakeSpotify(seed=1)
    for i in range(members):
        fake.seed_user(f"member{i}", f"Member {i}", n_artists=30, n_tracks=40)
    await fake.start()
    pipe.send(fake.settings_overrides())
    base, link_urls = await _recv(pipe)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        gate = asyncio.Semaphore(20)

        async def walk(i: int, url: str) -> dict[str, str]:
            async with gate:
                return await _walk_to_callback(http, base, url, f"member{i}")

        queries = await asyncio.gather(*(walk(i, u) for i, u in enumerate(link_urls)))
        pipe.send("ready")
        await _recv(pipe)  # "go"
        pipe.send(await asyncio.gather(*(_timed_callback(http, base, q) for q in queries)))
    await _recv(pipe)  # "stop"
    await fake.stop()


def _outside_world(pipe: Connection, members: int) -> None:
    """Child process: fake Spotify and the members' browsers (their CPU is not the app's)."""
    asyncio.run(_outside_world_main(pipe, members))


@asynccontextmanager
async def _outside(members: int) -> AsyncIterator[Connection]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_outside_world, args=(theirs, members), daemon=True)
    process.start()
    try:
        yield ours
    finally:
        ours.send("stop")
        await asyncio.get_running_loop().run_in_executor(None, process.join, 10)


@asynccontextmanager
async def _scratch_database(server_url: str) -> AsyncIterator[str]:
    """A migrated database of the bench's own, dropped afterwards."""
    name = f"soundsync_bench_{secrets.token_hex(4)}"
    try:
        yield await side_database(server_url, name, fresh=True)
    finally:
        await drop_database(server_url, name)


class StallMonitor:
    """Sleeps ``STALL_TICK`` again and again and records the worst lateness of the loop."""

    def __init__(self) -> None:
        self.max_stall = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(STALL_TICK)
            self.max_stall = max(self.max_stall, loop.time() - started - STALL_TICK)

    def start(self) -> None:
        """Begin measuring."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop measuring."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def _walk_to_callback(
    http: aiohttp.ClientSession, base: str, link_url: str, member: str
) -> dict[str, str]:
    """What a browser does before the callback: our /link page, then Spotify's consent form."""
    path = urlsplit(link_url)
    authorize = await continue_to_provider(http, f"{base}{path.path}?{path.query}")
    async with http.post(authorize, data={"decision": "approve", "as_user": member},
                         allow_redirects=False) as response:
        location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _timed_callback(
    http: aiohttp.ClientSession, base: str, query: dict[str, str]
) -> tuple[float, int]:
    started = time.perf_counter()
    async with http.get(f"{base}/callback", params=query) as response:
        await response.read()
        return time.perf_counter() - started, response.status


async def run_link_bench(
    settings: Settings, server_url: str, start_web: StartWeb, members: int = 200
) -> LinkBenchReport:
    """Link ``members`` members through ``start_web``'s app, all callbacks at once."""
    async with _outside(members) as world, _scratch_database(server_url) as db_url:
        bench_settings = load_settings(
            **await _recv(world), soundsync_secret_key=Fernet.generate_key().decode(),
            log_level=settings.log_level,
        )
        vault = TokenVault(bench_settings.soundsync_secret_key)
        pool = await create_pool(db_url, attempts=1, max_size=10)
        base, stop_web = await start_web(bench_settings, pool)
        try:
            links = [await start_link(pool, vault, bench_settings, 10_000 + i, 1)
                     for i in range(members)]
            world.send((base, links))
            await _recv(world)  # every browser is at Spotify's redirect
            load = os.getloadavg()[0]
            monitor = StallMonitor()
            monitor.start()
            started = time.perf_counter()
            world.send("go")
            results = await _recv(world)
            wall = time.perf_counter() - started
            await monitor.stop()
            stored = await profile_count(pool)
        finally:
            await stop_web()
            await pool.close()
    report = _report(members, results, stored, wall, monitor.max_stall, load)
    return dataclasses.replace(report, spotify_workers=bench_settings.spotify_workers)


def _report(
    members: int, results: list[tuple[float, int]], stored: int, wall: float, stall: float,
    load: float,
) -> LinkBenchReport:
    latencies = sorted(seconds * 1000 for seconds, _ in results)
    centiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return LinkBenchReport(
        members=members,
        errors=sum(1 for _, status in results if status != 200),
        profiles_stored=stored,
        wall_seconds=wall,
        p50_ms=statistics.median(latencies),
        p99_ms=centiles[98],
        max_ms=latencies[-1],
        max_stall_ms=stall * 1000,
        load_average=load,
    )


def _where_spotipy_runs(workers: int) -> str:
    if workers == 0:
        return ("spotipy ran in the web process's thread pool (`SPOTIFY_WORKERS=0`): its Python "
                "work holds the GIL and its garbage triggers collections on the loop's time.")
    return (f"spotipy ran in {workers} worker processes (`SPOTIFY_WORKERS`, as `soundsync web` "
            "runs it): its parsing and garbage stay out of the web process; the loop only "
            "unpickles the answers.")


def format_markdown(report: LinkBenchReport) -> str:
    """The BENCHMARKS.md section body."""
    verdict = "pass" if report.errors == 0 and report.max_stall_ms < 100 else "FAIL"
    return (
        "| concurrent callbacks | errors | profiles stored | wall time | p50 | p99 | max "
        "| max event-loop stall | verdict |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
        f"| {report.members} | {report.errors} | {report.profiles_stored} "
        f"| {report.wall_seconds:.2f} s | {report.p50_ms:.0f} ms | {report.p99_ms:.0f} ms "
        f"| {report.max_ms:.0f} ms | {report.max_stall_ms:.1f} ms | {verdict} |\n\n"
        "- Each callback: state check, PKCE token exchange, `/me`, top artists and tracks × 3 "
        "time ranges, audio features for tracks not yet known, one transaction (encrypted "
        "tokens, profile, NOTIFY). 30 artists / 40 tracks per member; fake Spotify in full mode "
        "and the members' browsers in a second process on loopback; PostgreSQL on the same machine.\n"
        "- Latency is measured from the browser side, all callbacks fired at once. "
        f"{_where_spotipy_runs(report.spotify_workers)}\n"
        f"- Stall = worst lateness of a task sleeping {STALL_TICK * 1000:.0f} ms on the web "
        "app's event loop while the callbacks ran (goal: < 100 ms). The machine's 1-minute load "
        f"average was {report.load_average:.1f} when they started (it is shared).\n"
    )
