"""``soundsync bench scale``: recluster N generated members against the COPY floor (issue #12)."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import time
from functools import partial
from pathlib import Path

from soundsync_bench.report import write_section
from soundsync_bench.scale import (
    BENCH_DATABASE,
    WARM_UP_MEMBERS,
    ScaleReport,
    format_markdown,
    run_scale_bench,
    warm_up,
)
from soundsync_cli.args import at_least
from soundsync_cli.bootstrap import recluster_runner
from soundsync_cli.progress import Progress
from soundsync_cli.runtime import configure_logging, database_url, open_pool, tune_gc_for_serving
from soundsync_core.db.databases import side_database
from soundsync_core.settings import Settings


def register_scale_bench(benches: argparse._SubParsersAction) -> None:
    """Add ``scale`` to ``soundsync bench``."""
    cmd = benches.add_parser(
        "scale",
        help="recluster N generated members in a database of its own: seconds against the COPY "
        "floor, peak memory, recall@10, /matches reads",
    )
    cmd.add_argument("--members", type=at_least(20), required=True, help="community size")
    cmd.add_argument("--workers", type=at_least(0), default=None,
                     help="Dask worker processes (default DASK_WORKERS; 0: in-process)")
    cmd.add_argument("--seed", type=int, default=1, help="community and recluster seed (1)")
    cmd.add_argument("--json", action="store_true", help="last line: the figures as one JSON object")
    cmd.add_argument("--write", type=Path, metavar="BENCHMARKS.md",
                     help="also add this run's row to the scale table of this markdown file")
    cmd.set_defaults(handler=run_scale_bench_command)


def run_scale_bench_command(args: argparse.Namespace, settings: Settings) -> int:
    """Fresh bench database on the server of DATABASE_URL (or the embedded one); one run."""
    configure_logging(settings)
    workers = settings.dask_workers if args.workers is None else args.workers
    with database_url(settings) as server:
        warmed = _warm_up_apart(settings, server, workers, args.seed)
        report = asyncio.run(_bench(settings, server, args.members, workers, args.seed))
    report.warm_up_seconds = warmed
    print(format_markdown([report]), end="")
    if args.write is not None:
        write_section(args.write, f"scale-{args.members}-{workers}",
                      f"Scale (`soundsync bench scale --members {args.members} --workers {workers}`)",
                      format_markdown([report]))
        print(f"updated {args.write}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.judged()))
    return 0


def _warm_up_apart(settings: Settings, server: str, workers: int, seed: int) -> float:
    """The warm-up recluster (:func:`warm_up`) in a process of its own: the kernels it compiles
    stay cached on disk, its memory does not stay in this process, whose peak is measured."""
    _say(f"warm-up: reclustering {WARM_UP_MEMBERS:,} members first (compiles the kernels once)")
    started = time.monotonic()
    process = multiprocessing.get_context("spawn").Process(
        target=_warm_up_main, args=(settings, server, workers, seed), name="bench-warm-up")
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the warm-up recluster failed (exit code {process.exitcode})")
    return time.monotonic() - started


def _warm_up_main(settings: Settings, server: str, workers: int, seed: int) -> None:
    configure_logging(settings)
    asyncio.run(_warm_up(settings, server, workers, seed))


async def _warm_up(settings: Settings, server: str, workers: int, seed: int) -> None:
    url = await side_database(server, BENCH_DATABASE, fresh=True)
    async with open_pool(settings, url) as pool:
        await warm_up(pool, partial(recluster_runner, settings, workers), seed=seed)


async def _bench(
    settings: Settings, server: str, members: int, workers: int, seed: int
) -> ScaleReport:
    # Made again, empty, after the warm-up: the run starts from what a new community has.
    url = await side_database(server, BENCH_DATABASE, fresh=True)
    runner = partial(recluster_runner, settings, workers)
    async with open_pool(settings, url) as pool:
        return await run_scale_bench(pool, members, workers, runner, seed=seed, say=_say,
                                     progress=Progress("recluster"), serving=tune_gc_for_serving)


def _say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)
