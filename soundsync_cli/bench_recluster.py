"""``soundsync bench recluster``: one real recluster of a synthetic community, stage by stage."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from soundsync_bench.recluster import (
    BENCH_DATABASE,
    ReclusterBenchReport,
    format_markdown,
    run_recluster_bench,
)
from soundsync_bench.report import write_section
from soundsync_cli.args import at_least
from soundsync_cli.progress import Progress
from soundsync_cli.runtime import configure_logging, database_url, open_pool
from soundsync_core.db.databases import side_database
from soundsync_core.settings import Settings


def register_recluster_bench(benches: argparse._SubParsersAction) -> None:
    """Add ``recluster`` to ``soundsync bench``."""
    cmd = benches.add_parser(
        "recluster", help="time one recluster of a synthetic community (import not counted)"
    )
    cmd.add_argument("--members", type=at_least(2), default=100_000, help="community size (100000)")
    cmd.add_argument("--seed", type=int, default=1, help="community and recluster seed (1)")
    cmd.add_argument("--write", type=Path, metavar="BENCHMARKS.md", help="also update this markdown file")
    cmd.set_defaults(handler=run_recluster_bench_command)


def run_recluster_bench_command(args: argparse.Namespace, settings: Settings) -> int:
    """Fresh bench database, import, recluster; print the table and maybe write it."""
    configure_logging(settings)
    with database_url(settings) as server:
        report = asyncio.run(_bench(settings, server, args.members, args.seed))
    table = format_markdown(report)
    print(table, end="")
    if args.write is not None:
        title = f"Recluster time (`soundsync bench recluster`, {args.members:,} members)"
        write_section(args.write, "recluster", title, table)
        print(f"updated {args.write}", file=sys.stderr)
    return 0


async def _bench(settings: Settings, server: str, members: int, seed: int) -> ReclusterBenchReport:
    url = await side_database(server, BENCH_DATABASE, fresh=True)
    async with open_pool(settings, url) as pool:
        return await run_recluster_bench(
            pool, members, seed=seed, say=_say, progress=Progress("recluster")
        )


def _say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)
