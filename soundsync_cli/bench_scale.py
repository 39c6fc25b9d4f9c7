"""``soundsync bench scale``: recluster N generated members against the COPY floor (issue #12)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
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
        report = asyncio.run(_bench(settings, server, args.members, workers, args.seed))
    print(format_markdown([report]), end="")
    if args.write is not None:
        write_section(args.write, f"scale-{args.members}-{workers}",
                      f"Scale (`soundsync bench scale --members {args.members} --workers {workers}`)",
                      format_markdown([report]))
        print(f"updated {args.write}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.judged()))
    return 0


async def _bench(
    settings: Settings, server: str, members: int, workers: int, seed: int
) -> ScaleReport:
    runner = partial(recluster_runner, settings, workers)
    _say(f"warm-up: reclustering {WARM_UP_MEMBERS:,} members first (compiles the kernels once)")
    async with open_pool(settings, await side_database(server, BENCH_DATABASE, fresh=True)) as pool:
        warmed = await warm_up(pool, runner, seed=seed)
    # The warm-up's database is made again, empty: the run starts from what a new community has.
    url = await side_database(server, BENCH_DATABASE, fresh=True)
    async with open_pool(settings, url) as pool:
        report = await run_scale_bench(pool, members, workers, runner, seed=seed, say=_say,
                                       progress=Progress("recluster"), serving=tune_gc_for_serving)
    report.warm_up_seconds = warmed
    return report


def _say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)
