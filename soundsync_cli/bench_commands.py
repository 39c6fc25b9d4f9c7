"""``soundsync bench …``: benchmarks that print a markdown table and may update BENCHMARKS.md.

Add a bench as a sibling of ``quality``: a parser in :func:`register` and a handler here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soundsync_bench.quality import Progress, format_markdown, run_quality
from soundsync_bench.report import write_section
from soundsync_cli.args import positive
from soundsync_cli.bench_matches import register_matches_bench
from soundsync_cli.bench_recluster import register_recluster_bench
from soundsync_cli.bench_scale import register_scale_bench
from soundsync_cli.web_commands import register_link_bench
from soundsync_core.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="run a benchmark (quality, …)")
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    quality = benches.add_parser(
        "quality", help="precision/recall@10 of the matcher vs baselines on synthetic communities"
    )
    quality.add_argument(
        "--sizes", type=_sizes, default=(300, 1000), help="community sizes (default 300,1000)"
    )
    quality.add_argument("--seeds", type=positive, default=3, help="communities per size")
    quality.add_argument("--k", type=positive, default=10, help="list length scored (10)")
    quality.add_argument(
        "--write", type=Path, metavar="BENCHMARKS.md", help="also update this markdown file"
    )
    quality.set_defaults(handler=run_quality_bench)
    register_matches_bench(benches)
    register_recluster_bench(benches)
    register_scale_bench(benches)
    register_link_bench(benches)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(positive(part) for part in text.split(",") if part.strip())
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"comma-separated member counts, got {text!r}") from exc
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError("each size must be at least 2 members")
    return sizes


def run_quality_bench(args: argparse.Namespace, settings: Settings) -> int:
    report = run_quality(args.sizes, args.seeds, k=args.k, progress=_progress())
    table = format_markdown(report)
    print(table, end="")
    if args.write is not None:
        title = f"Matching quality (`soundsync bench quality`, P@{args.k} / R@{args.k})"
        write_section(args.write, "quality", title, table)
        print(f"updated {args.write}", file=sys.stderr)
    return 0


def _progress() -> Progress | None:
    # Progress only for a person watching: redirected runs (CI, files) stay quiet.
    if not sys.stderr.isatty():
        return None
    return lambda message: print(f"… {message}", file=sys.stderr, flush=True)
