"""``recluster``: rebuild every member's vector, tribes and top matches, then switch live.

Flow: take the cross-process lock → discard runs a crashed process left behind → record a
``running`` run → load the community → fit the vectors → find tribes beside ranking the
matches (CPU work in an executor, never on the event loop), COPYing each scope's matches as
soon as it is ranked, and the run's items and tribes meanwhile → index the matches → switch
the run live in one transaction → prune old runs. Readers only ever see complete runs; a
failure leaves the previous run serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field

import asyncpg
from threadpoolctl import threadpool_limits

from soundsync_core.errors import MemberFacingError
from soundsync_core.heap import release_free_heap
from soundsync_core.repositories import match_store, runs
from soundsync_core.repositories.community import load_community
from soundsync_core.services import run_compute
from soundsync_core.taste.blocks import IN_PROCESS, BlockRunner
from soundsync_core.taste.match_rows import MatchRows

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
# Opens where the heavy blocks run for one recluster (a Dask cluster, or this process).
RunnerFactory = Callable[[], AbstractContextManager[BlockRunner]]
MATCHES_PER_MEMBER = 20


class ReclusterBusyError(MemberFacingError):
    """Another recluster holds the lock (in this process or another one)."""

    def __init__(self) -> None:
        super().__init__("a recluster is already running; try again when it has finished")


class NothingToClusterError(MemberFacingError):
    """No member in the requested scope has a profile yet."""

    def __init__(self, scope: str) -> None:
        super().__init__(
            "Nobody here has a taste profile yet — members can add one with /link or /import-history.",
            detail=f"no member of {scope} has a profile yet",
        )


@dataclass(frozen=True)
class ReclusterSummary:
    """What a finished run did, for the CLI and the admin command."""

    run_id: int
    members: int
    k: int
    tribes: list[str]
    seconds: float
    scopes: int
    matches: int
    stages: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        return (
            f"run {self.run_id}: {self.members} members, k={self.k} tribes "
            f"({', '.join(self.tribes[:6])}{'…' if len(self.tribes) > 6 else ''}), "
            f"{self.matches} matches in {self.scopes} scope(s), {self.seconds:.1f}s"
        )


async def recluster(
    pool: asyncpg.Pool,
    *,
    guild_id: int | None = None,
    matches_per_member: int = MATCHES_PER_MEMBER,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    executor: Executor | None = None,
    runner: RunnerFactory | None = None,
) -> ReclusterSummary:
    """Run one recluster for every guild (or just ``guild_id``) and switch it live.

    ``runner`` opens where the heavy blocks run (the composition root's Dask cluster); unset,
    they run in ``executor``. It is opened while the community loads and closed at the end.
    """
    started = time.monotonic()
    report = progress or (lambda stage, done, total: None)
    async with pool.acquire() as conn:
        if not await runs.try_lock_recluster(conn):
            raise ReclusterBusyError()
        try:
            dropped = await runs.discard_dead_runs(conn)
            if dropped:
                log.warning("discarded %d run(s) left behind by a crashed recluster", dropped)
            with ExitStack() as stack:
                # One BLAS thread for the whole run: blocks run side by side on the workers and
                # the tribes beside them (BLAS threads would only fight them for the cores: 6.7
                # against 5.8 s for the matching at 100k), and a fixed thread count keeps the
                # tribes' floating-point sums the same whatever runs the blocks.
                stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
                loop = asyncio.get_running_loop()
                # A cluster starts in seconds: let it start while the community loads.
                opening = (loop.run_in_executor(executor, stack.enter_context, runner())
                           if runner is not None else None)
                try:
                    return await _run_locked(
                        conn, guild_id, matches_per_member, seed, report, executor, started,
                        opening,
                    )
                finally:
                    if opening is not None:
                        await asyncio.wait([opening])
                        await loop.run_in_executor(executor, stack.close)
        finally:
            await runs.unlock_recluster(conn)


async def _run_locked(
    conn: asyncpg.Connection,
    guild_id: int | None,
    matches_per_member: int,
    seed: int,
    report: ProgressCallback,
    executor: Executor | None,
    started: float,
    opening: asyncio.Future[BlockRunner] | None,
) -> ReclusterSummary:
    stages: dict[str, float] = {}
    mark = time.monotonic()
    report("loading", 0, 1)
    community = await load_community(conn, guild_id)
    release_free_heap()  # the load's chunks, freed but kept by malloc (0.9 GB at a million)
    if not community.profiles:
        scope = f"guild {guild_id}" if guild_id else "the community"
        raise NothingToClusterError(scope)
    report("loading", 1, 1)
    stages["load"] = time.monotonic() - mark
    params = {"seed": seed, "matches_per_member": matches_per_member}
    run_id = await runs.start_run(conn, guild_id, params)
    try:
        mark = time.monotonic()
        block_runner = await opening if opening is not None else IN_PROCESS
        stages["workers"] = time.monotonic() - mark
        mark = time.monotonic()
        report("vectors", 0, 1)
        fitted = await asyncio.get_running_loop().run_in_executor(
            executor, run_compute.fit, community, seed)
        del community  # what the run still needs is in ``fitted``; the lists are half the load
        release_free_heap()
        report("vectors", 1, 1)
        stages["fit"] = time.monotonic() - mark
        tribes, matches = await _tribes_beside_matches(
            conn, run_id, fitted, matches_per_member, report, executor, block_runner, stages)
        mark = time.monotonic()
        report("writing", 0, 1)
        await match_store.index_match_partition(conn, run_id)
        report("writing", 1, 1)
        stages["index"] = time.monotonic() - mark
        mark = time.monotonic()
        metrics = {"silhouette": tribes.silhouette, "members": len(fitted.user_ids),
                   "stages": stages}
        await runs.switch_live(conn, run_id, fitted.scope_ids, tribes.k, metrics,
                               [row[0] for row in tribes.member_rows])
        await runs.prune_old_runs(conn)
        stages["switch"] = time.monotonic() - mark
    except BaseException as exc:
        # Also on cancellation: the run must not stay "running" with half its rows.
        await asyncio.shield(runs.fail_run(conn, run_id, f"{type(exc).__name__}: {exc}"))
        raise
    return ReclusterSummary(
        run_id=run_id,
        members=len(fitted.user_ids),
        k=tribes.k,
        tribes=[t.name for t in tribes.tribes],
        seconds=time.monotonic() - started,
        scopes=len(fitted.scope_ids),
        matches=matches,
        stages=stages,
    )


async def _tribes_beside_matches(
    conn: asyncpg.Connection,
    run_id: int,
    fitted: run_compute.Fitted,
    matches_per_member: int,
    report: ProgressCallback,
    executor: Executor | None,
    runner: BlockRunner,
    stages: dict[str, float],
) -> tuple[run_compute.TribeRows, int]:
    """Tribes (in this process) beside the matches (on the runner's workers), each scope's
    matches COPYed as soon as it is ranked; the run's items first, the tribes' rows between two
    chunks once they are found. Returns the tribes and the number of match rows.

    Tribes beside the matching paid with the local workers as threads (100k members, 2 cores:
    23.8–24.9 s against 25.4–25.7 s with the tribes first; beside worker processes it did not).
    Storing each scope as it comes means the run never holds every scope's rows (about 1 KB a
    member); the cores still idle for a few seconds mid-run, and three chunks made ahead instead
    of one measured no better (24.0–26.6 against 25.4–25.6 s).
    """
    loop = asyncio.get_running_loop()
    mark = time.monotonic()
    finding = loop.run_in_executor(executor, run_compute.find_tribes, fitted)
    pieces = _Counted(run_compute.rank_matches(
        fitted, matches_per_member, lambda done, total: report("matching", done, total), runner))
    chunks = match_store.match_copy_chunks(run_id, pieces)
    tribes: run_compute.TribeRows | None = None
    pending: asyncio.Future[bytes | None] | None = None
    try:
        await match_store.create_match_partition(conn, run_id)
        await match_store.copy_run_items(conn, run_id, fitted.items())
        # The next chunk is made in the executor while PostgreSQL ingests this one.
        pending = loop.run_in_executor(executor, next, chunks, None)
        while (chunk := await pending) is not None:
            pending = loop.run_in_executor(executor, next, chunks, None)
            await match_store.copy_match_chunk(conn, run_id, chunk)
            if tribes is None and finding.done():
                tribes = await _store_tribes(conn, run_id, finding, mark, stages)
        stages["matching and writing"] = time.monotonic() - mark
        if tribes is None:
            tribes = await _store_tribes(conn, run_id, finding, mark, stages)
    finally:
        # On a failure, the tribes and the chunk being made still finish before the runner closes.
        await asyncio.wait([finding, *([pending] if pending is not None else [])])
        await loop.run_in_executor(executor, chunks.close)
    return tribes, pieces.rows


async def _store_tribes(
    conn: asyncpg.Connection,
    run_id: int,
    finding: asyncio.Future[run_compute.TribeRows],
    started: float,
    stages: dict[str, float],
) -> run_compute.TribeRows:
    tribes = await finding
    stages["tribes (beside matching)"] = time.monotonic() - started
    await runs.copy_rows(
        conn, "cluster_centers",
        ("run_id", "cluster", "size", "name", "top_artists", "top_genres", "center",
         "artist_weights"),
        [(run_id, *row) for row in tribes.center_rows],
    )
    await runs.copy_rows(
        conn, "user_clusters",
        ("run_id", "user_id", "cluster", "distance", "map_x", "map_y"),
        [(run_id, *row) for row in tribes.member_rows],
    )
    return tribes


class _Counted:
    """The pieces of an iterator of match rows, counting the rows that pass."""

    def __init__(self, pieces: Iterator[MatchRows]) -> None:
        self._pieces = pieces
        self.rows = 0

    def __iter__(self) -> Iterator[MatchRows]:
        for piece in self._pieces:
            self.rows += len(piece)
            yield piece
