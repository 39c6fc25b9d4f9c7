"""``soundsync bench recluster``: how long one real recluster of a large community takes.

The bench fills a database of its own with a synthetic community through the real importer
(timed, but not part of the recluster figure), lets a share of the members opt into global
matching so the global scope is exercised too, then runs the real :func:`recluster` and reports
its stages. The database is created by the caller (the CLI), so nothing here picks a server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from soundsync_core.repositories import members
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import ProgressCallback, ReclusterSummary, recluster
from soundsync_synthetic import generate_community, jsonl_lines

BENCH_DATABASE = "soundsync_bench_recluster"
TARGET_SECONDS = 60.0
# Members who opt into matching across servers ("global" visibility); the rest keep the default.
GLOBAL_SHARE = 0.5

Say = Callable[[str], None]


@dataclass
class ReclusterBenchReport:
    """What the bench measured: setup times, and the recluster's summary and stages."""

    members: int
    seed: int
    global_members: int = 0
    generate_seconds: float = 0.0
    import_seconds: float = 0.0
    summary: ReclusterSummary | None = None
    stages: dict[str, float] = field(default_factory=dict)


async def run_recluster_bench(
    pool: asyncpg.Pool,
    members: int,
    *,
    seed: int = 1,
    say: Say | None = None,
    progress: ProgressCallback | None = None,
) -> ReclusterBenchReport:
    """Generate, import, open global matching to :data:`GLOBAL_SHARE`, then time one recluster."""
    tell = say or (lambda text: None)
    report = ReclusterBenchReport(members=members, seed=seed)
    mark = time.monotonic()
    tell(f"generating {members} synthetic members (seed {seed})")
    profiles = generate_community(members, seed=seed).profiles
    report.generate_seconds = time.monotonic() - mark
    mark = time.monotonic()
    tell("importing profiles with the real importer")
    imported = await import_profiles(pool, jsonl_lines(profiles))
    if imported.rejected:
        raise RuntimeError(f"the synthetic import rejected {len(imported.rejected)} line(s)")
    report.import_seconds = time.monotonic() - mark
    report.global_members = await _open_global(pool, [p.user_id for p in profiles], seed)
    del profiles  # the recluster reads everything back from the database
    tell("reclustering")
    report.summary = await recluster(pool, seed=seed, progress=progress)
    report.stages = dict(report.summary.stages)
    return report


async def _open_global(pool: asyncpg.Pool, user_ids: list[int], seed: int) -> int:
    """Give a seeded :data:`GLOBAL_SHARE` of the members global visibility; returns how many."""
    rng = np.random.default_rng(seed)
    chosen = [u for u, pick in zip(user_ids, rng.random(len(user_ids)) < GLOBAL_SHARE, strict=True) if pick]
    await members.set_visibility(pool, chosen, "global")
    return len(chosen)


def format_markdown(report: ReclusterBenchReport) -> str:
    """The BENCHMARKS.md body: what was clustered, then seconds per stage."""
    summary = report.summary
    if summary is None:
        return "No recluster ran.\n"
    lines = [
        f"{report.members:,} synthetic members (seed {report.seed}), "
        f"{report.global_members:,} of them with global matching; "
        f"{summary.scopes} scopes (guilds + global), k = {summary.k} tribes, "
        f"{summary.matches:,} match rows written.",
        "",
        "| stage | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in report.stages.items()),
        f"| **recluster total** | **{summary.seconds:.1f}** |",
        "",
        f"Target: about {TARGET_SECONDS:.0f} s ({_verdict(summary.seconds)}). Not part of the "
        f"recluster: generating the community {report.generate_seconds:.1f} s, importing it with "
        f"the real importer {report.import_seconds:.1f} s.",
    ]
    return "\n".join(lines) + "\n"


def _verdict(seconds: float) -> str:
    # "About a minute": within a tenth of it counts as met.
    if seconds <= TARGET_SECONDS * 1.1:
        return "met"
    return f"not met: {seconds / TARGET_SECONDS:.1f}× the target"
