"""``soundsync bench scale``: a recluster of N members against the floor of its own COPYs.

In one run, in a database of its own: generate and COPY-load :mod:`scale_data`'s community
(not measured), recluster it (the real :func:`recluster`, its blocks wherever ``runner`` puts
them) while sampling the memory of this process and its children, then measure

* ``copy_floor_seconds``: a bare binary COPY read of the profile rows plus a bare binary COPY
  write, into an unindexed table, of as many match rows as the recluster wrote (same columns,
  packed reasons included) — what no recluster can beat;
* ``recall_at_10`` of the served top 10 against exact scores, on up to :data:`RECALL_SAMPLE`
  (member, guild) pairs of the guilds large enough for the candidate search (smaller guilds are
  ranked exactly);
* ``matches_p50_ms`` / ``matches_p99_ms`` of :data:`READS` random ``/matches`` service reads.

Before all this, :func:`warm_up` reclusters a small community, untimed and in a process of its
own (whose memory is not the measured process's): numba compiles the recluster's kernels
(:mod:`soundsync_core.taste.kernels`) on their first call and caches them beside the code, so
only a checkout's first recluster ever pays for that (about 15 s at 100k members on this
project's 2-core hosts).
"""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
import numpy as np
import psutil

from soundsync_bench.matches_latency import pick_askers
from soundsync_bench.scale_data import (
    ScaleGuilds,
    generate_scale_community,
    load_scale_community,
)
from soundsync_core.db.databases import settle
from soundsync_core.heap import release_free_heap
from soundsync_core.repositories import match_store
from soundsync_core.repositories.profile_table import load_profile_table
from soundsync_core.services.matches import matches_for
from soundsync_core.services.recluster import ProgressCallback, RunnerFactory, recluster
from soundsync_core.taste.bulk_reasons import PACKED
from soundsync_core.taste.match_rows import MatchRows
from soundsync_core.taste.neighbours import BLOCK_CELLS, EXACT_LIMIT, Exclusions, Masks, rank_block
from soundsync_core.taste.similarity import build_vectors

BENCH_DATABASE = "soundsync_bench_scale"
RECALL_SAMPLE = 10_000
READS = 1_000
# A table name in match_store's pattern that no run will have (run ids count up from 1).
FLOOR_TABLE_RUN = 2**62
RSS_INTERVAL = 0.1
# A community whose largest guild (a fifth of it) is above EXACT_LIMIT: its recluster runs every
# compiled kernel, the candidate search's included.
WARM_UP_MEMBERS = 6 * EXACT_LIMIT
JSON_KEYS = ("members", "workers", "copy_floor_seconds", "recluster_seconds", "ratio_to_floor",
             "peak_rss_mb", "recall_at_10", "matches_p50_ms", "matches_p99_ms")

Say = Callable[[str], None]


@dataclass
class ScaleReport:
    """The judged figures (:data:`JSON_KEYS`) and what explains them."""

    members: int
    workers: int
    copy_floor_seconds: float = 0.0
    recluster_seconds: float = 0.0
    ratio_to_floor: float = 0.0
    peak_rss_mb: float = 0.0
    recall_at_10: float = 0.0
    matches_p50_ms: float = 0.0
    matches_p99_ms: float = 0.0
    match_rows: int = 0
    guilds: int = 0
    recall_pairs: int = 0
    setup_seconds: float = 0.0
    warm_up_seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    stage_peaks_mb: dict[str, float] = field(default_factory=dict)
    sizes_mb: dict[str, float] = field(default_factory=dict)

    def judged(self) -> dict[str, Any]:
        """The ``--json`` object: exactly :data:`JSON_KEYS`."""
        values = asdict(self)
        return {key: values[key] for key in JSON_KEYS}


class PeakRss:
    """Samples the summed RSS of this process and its descendants (PostgreSQL excluded), the
    peak overall and by progress stage (:meth:`progress` names the stage)."""

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self.peak_bytes = 0
        self.peak_by_stage: dict[str, int] = {}
        self._stage = "start"
        self._progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def progress(self, stage: str, done: int, total: int) -> None:
        """A recluster's progress callback: the samples from now on count for ``stage``."""
        self._stage = stage
        if self._progress is not None:
            self._progress(stage, done, total)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while True:
            rss, stage = _tree_rss(me), self._stage
            self.peak_bytes = max(self.peak_bytes, rss)
            self.peak_by_stage[stage] = max(self.peak_by_stage.get(stage, 0), rss)
            if self._stop.wait(RSS_INTERVAL):
                return


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            if not proc.name().startswith(("postgres", "pg_ctl")):
                total += proc.memory_info().rss
        except psutil.Error:
            continue  # a worker that ended between the listing and the reading
    return total


async def run_scale_bench(
    pool: asyncpg.Pool,
    members: int,
    workers: int,
    runner: RunnerFactory | None,
    *,
    seed: int = 1,
    say: Say | None = None,
    progress: ProgressCallback | None = None,
    serving: Callable[[], None] | None = None,
) -> ScaleReport:
    """Generate and load, recluster under the memory sampler, then the reads, floor and recall.

    ``serving()`` is called before the reads: what a serving process does once it is up (the
    CLI passes its garbage-collector tuning), so reads do not pay for the recluster's heap.
    """
    tell = say or (lambda text: None)
    report = ScaleReport(members=members, workers=workers)
    mark = time.monotonic()
    tell(f"generating and loading {members:,} members (seed {seed})")
    guilds = await _generate_and_load(pool, members, seed)
    # The generator's freed arrays are not the recluster's memory (941 MB kept at a million).
    release_free_heap()
    report.guilds = len(np.unique(guilds.guild_of))
    report.setup_seconds = time.monotonic() - mark
    tell(f"reclustering with {workers or 'no'} Dask worker(s)")
    with PeakRss(progress) as rss:
        summary = await recluster(pool, seed=seed, progress=rss.progress, runner=runner)
    report.peak_rss_mb = rss.peak_bytes / 2**20
    report.stage_peaks_mb = {stage: peak / 2**20 for stage, peak in rss.peak_by_stage.items()}
    report.recluster_seconds = summary.seconds
    report.stages = dict(summary.stages)
    report.match_rows = summary.matches
    if serving is not None:
        serving()
    tell(f"{READS} /matches reads")
    report.matches_p50_ms, report.matches_p99_ms = await _read_latency(pool, members, seed)
    async with pool.acquire() as conn:
        tell("measuring the COPY floor")
        report.copy_floor_seconds = await copy_floor(conn, summary.matches)
        report.sizes_mb = await match_store.storage_sizes_mb(conn, summary.run_id)
        tell("recall of the served top 10 against exact scores")
        report.recall_at_10, report.recall_pairs = await served_recall(conn, summary.run_id, guilds, seed)
    report.ratio_to_floor = report.recluster_seconds / report.copy_floor_seconds
    return report


async def warm_up(pool: asyncpg.Pool, runner: RunnerFactory | None, *, seed: int = 1) -> None:
    """Recluster :data:`WARM_UP_MEMBERS` generated members in ``pool``'s database (a scratch one)
    with the bench's runner, so the kernels are compiled and cached before anything is timed."""
    await _generate_and_load(pool, WARM_UP_MEMBERS, seed)
    await recluster(pool, seed=seed, runner=runner)


async def _generate_and_load(pool: asyncpg.Pool, members: int, seed: int) -> ScaleGuilds:
    """Generate and COPY the community; keep only its guilds (what the recall needs): the
    members' lists would otherwise count in the recluster's memory (800 MB at a million)."""
    community = generate_scale_community(members, seed=seed)
    async with pool.acquire() as conn:
        await load_scale_community(conn, community)
        # A community that grew member by member has been vacuumed and analysed by autovacuum
        # (statistics, visibility map, commit hints); a bulk load needs that now.
        await settle(conn)
    return community.guilds


async def copy_floor(conn: asyncpg.Connection, match_rows: int) -> float:
    """Seconds of a bare binary COPY read of the profiles plus a bare binary COPY write of
    ``match_rows`` match rows (reasons included) into an unindexed table."""
    read_bytes = 0

    async def sink(chunk: bytes) -> None:
        nonlocal read_bytes
        read_bytes += len(chunk)

    started = time.monotonic()
    await conn.copy_from_table(
        "profiles", columns=["user_id", "source", "artist_ids", "track_ids"], output=sink,
        format="binary",
    )
    seconds = time.monotonic() - started
    per_copy = match_store.MATCH_ROWS_PER_COPY
    chunks = {size: _floor_chunk(size) for size in {per_copy, match_rows % per_copy} if size}
    await match_store.create_match_partition(conn, FLOOR_TABLE_RUN)
    try:
        started = time.monotonic()
        for start in range(0, match_rows, per_copy):
            size = min(per_copy, match_rows - start)
            await match_store.copy_match_chunk(conn, FLOOR_TABLE_RUN, chunks[size])
        seconds += time.monotonic() - started
    finally:
        await match_store.drop_match_partitions(conn, [FLOOR_TABLE_RUN])
    return seconds


def _floor_chunk(size: int) -> bytes:
    """One COPY chunk of ``size`` match rows with zeroed packed reasons (the bytes are the same)."""
    ids = np.arange(size, dtype=np.int64)
    rows = MatchRows(scope_id=ids % 7, user_id=ids, rank=(ids % 20 + 1).astype(np.int16),
                     other_id=ids + 1, score=np.full(size, 0.5, dtype=np.float32),
                     reasons=_ZeroReasons())
    return next(match_store.match_copy_chunks(FLOOR_TABLE_RUN, [rows]))


class _ZeroReasons:
    def __call__(self, start: int, end: int) -> np.ndarray:
        return np.zeros(end - start, dtype=PACKED)

    def items(self) -> dict[str, np.ndarray]:
        return {}


async def served_recall(
    conn: asyncpg.Connection, run_id: int, guilds: ScaleGuilds, seed: int
) -> tuple[float, int]:
    """Mean share of the exact top 10 found in the served top 10, over sampled (member, guild)
    pairs of the guilds above :data:`EXACT_LIMIT` members (those use the candidate search)."""
    ids, sizes = np.unique(guilds.guild_of, return_counts=True)
    searched = ids[sizes > EXACT_LIMIT]
    if not len(searched):
        return 1.0, 0
    served = await _served_top10(conn, run_id)
    rng = np.random.default_rng(seed)
    pairs = [(int(g), int(m)) for g in searched for m in guilds.scope_members(int(g))]
    chosen = rng.choice(len(pairs), min(RECALL_SAMPLE, len(pairs)), replace=False)
    by_guild: dict[int, list[int]] = {}
    for index in chosen:
        guild, member = pairs[index]
        by_guild.setdefault(guild, []).append(member)
    vectors = build_vectors(await load_profile_table(conn, lean=True), seed=seed)
    masks = Masks.of(Exclusions(), vectors.n_members)
    found = total = 0
    for guild, queries in by_guild.items():
        scope = guilds.scope_members(guild)
        queries_array = np.sort(np.array(queries, dtype=np.int64))
        step = max(1, BLOCK_CELLS // len(scope))
        for start in range(0, len(queries_array), step):
            block = queries_array[start : start + step]
            _, exact, _ = rank_block(vectors, masks, block, block, scope, 10)
            for member, best in zip(block.tolist(), exact, strict=True):
                got = served.get((guild, member + 1), set())
                found += len(got & {int(b) + 1 for b in best if b >= 0})
                total += min(10, int((best >= 0).sum()))
    return (found / total if total else 1.0), len(chosen)


async def _served_top10(conn: asyncpg.Connection, run_id: int) -> dict[tuple[int, int], set[int]]:
    """(guild, user id) → the user ids of the run's stored top 10."""
    buffer = io.BytesIO()
    await conn.copy_from_table(match_store.match_partition(run_id),
                               columns=["scope_id", "user_id", "rank", "other_id"],
                               output=buffer, format="binary")
    row = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("scope", ">i8"), ("l2", ">i4"),
                    ("user", ">i8"), ("l3", ">i4"), ("rank", ">i2"), ("l4", ">i4"),
                    ("other", ">i8")])
    data = buffer.getvalue()[19:-2]
    rows = np.frombuffer(data, dtype=row)
    rows = rows[rows["rank"] <= 10]
    out: dict[tuple[int, int], set[int]] = {}
    for scope, user, other in zip(rows["scope"].tolist(), rows["user"].tolist(),
                                  rows["other"].tolist(), strict=True):
        out.setdefault((scope, user), set()).add(other)
    return out


async def _read_latency(pool: asyncpg.Pool, members: int, seed: int) -> tuple[float, float]:
    """p50 and p99 ms of :data:`READS` ``/matches`` reads (service calls, one after the other)."""
    async with pool.acquire() as conn:
        askers = await pick_askers(conn, min(READS, members), seed=seed)
    timings = []
    for asker in random.Random(seed).choices(askers, k=READS):
        started = time.perf_counter()
        await matches_for(pool, asker.user_id, asker.guild_id, limit=10)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 99))


def format_markdown(reports: list[ScaleReport]) -> str:
    """One table row per run, then each run's stages and sizes."""
    lines = [
        "| members | workers | recluster s | COPY floor s | ratio | peak RSS MB | recall@10 "
        "| /matches p50 ms | p99 ms | match rows |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {r.members:,} | {r.workers} | {r.recluster_seconds:.1f} | {r.copy_floor_seconds:.1f} "
          f"| {r.ratio_to_floor:.1f} | {r.peak_rss_mb:,.0f} | {r.recall_at_10:.3f} "
          f"| {r.matches_p50_ms:.2f} | {r.matches_p99_ms:.2f} | {r.match_rows:,} |" for r in reports),
        "",
    ]
    for r in reports:
        stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r.stages.items())
        sizes = ", ".join(f"{name} {mb:,.0f} MB" for name, mb in r.sizes_mb.items())
        peaks = ", ".join(f"{name} {mb:,.0f}" for name, mb in r.stage_peaks_mb.items())
        lines.append(f"- {r.members:,} members, {r.workers} worker(s), {r.guilds} guilds: stages "
                     f"(s) {stages}; peak RSS (MB) by progress stage {peaks}; on disk {sizes}; "
                     f"recall over {r.recall_pairs:,} (member, "
                     f"guild) pairs; generating + loading {r.setup_seconds:.1f} s, warm-up recluster of "
                     f"{WARM_UP_MEMBERS:,} members {r.warm_up_seconds:.1f} s (not counted).")
    return "\n".join(lines) + "\n"
