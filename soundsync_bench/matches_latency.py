"""Dataset and figures of ``soundsync bench matches`` (the bot-facing driver is in soundsync_cli).

The bench needs a database holding many imported members and one live run. Preparing it takes
minutes at 100k members and is not what is measured, so the database is kept between runs and
recognised by :func:`dataset_ready`. Nothing here imports discord: the driver sends the
``/matches`` interactions and hands back :class:`Sample` objects; this module turns them into
percentiles and the BENCHMARKS.md section.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import ProgressCallback, recluster
from soundsync_synthetic import generate_community, jsonl_lines

BENCH_DATABASE = "soundsync_bench_matches"
DATASET_SEED = 11
TARGET_P99_MS = 150.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class Asker:
    """A member who runs ``/matches`` in a guild where the live run stored matches for them."""

    user_id: int
    guild_id: int
    display_name: str


@dataclass(frozen=True)
class Sample:
    """One ``/matches``: ms from INTERACTION_CREATE to the first callback and to the matches.

    A failed interaction keeps what was measured before it failed and says why in ``error``.
    """

    first_callback_ms: float | None
    matches_message_ms: float | None
    error: str | None = None


@dataclass(frozen=True)
class Percentiles:
    """p50 / p95 / p99 / max of a list of latencies, in ms."""

    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Percentiles:
        """Percentiles by linear interpolation between the closest ranks (numpy's default)."""
        if not values:
            nan = float("nan")
            return cls(nan, nan, nan, nan)
        p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99])
        return cls(float(p50), float(p95), float(p99), float(max(values)))


@dataclass
class MatchesBenchReport:
    """Everything one run of the bench measured, and the setting it ran in."""

    members: int
    match_rows: int
    concurrency: int
    rounds: int
    pool_size: int
    samples: list[Sample] = field(default_factory=list)
    # The same command one at a time, for scale: what a single /matches costs unqueued.
    alone: list[Sample] = field(default_factory=list)
    bot_errors: int = 0
    # CPU time of the bot's process over the measured rounds, per /matches.
    bot_cpu_ms: float = float("nan")

    @property
    def errors(self) -> int:
        """Interactions that failed as seen by Discord, plus errors the bot's handler reported."""
        return sum(1 for s in (*self.samples, *self.alone) if s.error is not None) + self.bot_errors

    @property
    def first_callback(self) -> Percentiles:
        """(a) INTERACTION_CREATE sent → first interaction callback received."""
        return Percentiles.of(_measured(self.samples, "first_callback_ms"))

    @property
    def matches_message(self) -> Percentiles:
        """(b) INTERACTION_CREATE sent → the message with the matches received."""
        return Percentiles.of(_measured(self.samples, "matches_message_ms"))

    @property
    def passed(self) -> bool:
        """Zero errors and both p99 within :data:`TARGET_P99_MS`."""
        return (self.errors == 0 and self.first_callback.p99 <= TARGET_P99_MS
                and self.matches_message.p99 <= TARGET_P99_MS)


def _measured(samples: Sequence[Sample], name: str) -> list[float]:
    return [value for s in samples if (value := getattr(s, name)) is not None]


async def dataset_ready(conn: asyncpg.Connection, members: int) -> bool:
    """Whether the database holds exactly ``members`` members and a live run made from them all."""
    count = await conn.fetchval("SELECT count(*) FROM members")
    if count != members:
        return False
    return bool(await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM live_runs l JOIN cluster_runs r USING (run_id)
                          WHERE r.status = 'complete' AND (r.metrics->>'members')::int = $1)""",
        members,
    ))


async def prepare_dataset(
    pool: asyncpg.Pool,
    members: int,
    *,
    seed: int = DATASET_SEED,
    say: Say | None = None,
    progress: ProgressCallback | None = None,
) -> None:
    """Generate ``members`` synthetic members, import them and run one recluster (all guilds)."""
    tell = say or (lambda text: None)
    tell(f"generating {members} synthetic members (seed {seed})")
    community = generate_community(members, seed=seed)
    tell("importing profiles")
    report = await import_profiles(pool, jsonl_lines(community.profiles))
    if report.rejected:
        raise RuntimeError(f"the synthetic import rejected {len(report.rejected)} line(s)")
    del community  # the recluster reads the profiles back from the database
    tell("reclustering (setup only, not measured)")
    summary = await recluster(pool, progress=progress)
    tell(summary.text())


async def live_match_rows(conn: asyncpg.Connection) -> int:
    """How many stored match rows the live runs serve."""
    return await conn.fetchval(
        "SELECT count(*) FROM live_runs l JOIN matches m USING (run_id, scope_id)"
    )


async def pick_askers(conn: asyncpg.Connection, count: int, *, seed: int = DATASET_SEED) -> list[Asker]:
    """``count`` distinct members (the same ones for the same seed), each with a guild of theirs
    where the live run stored at least one match for them.
    """
    rows = await conn.fetch(
        """SELECT DISTINCT ON (m.user_id) m.user_id, m.scope_id, o.display_name
           FROM live_runs l
           JOIN matches m ON m.run_id = l.run_id AND m.scope_id = l.scope_id AND m.rank = 1
           JOIN members o ON o.user_id = m.user_id
           WHERE l.scope_id <> 0
           ORDER BY m.user_id, m.scope_id"""
    )
    if len(rows) < count:
        raise RuntimeError(f"only {len(rows)} member(s) have stored guild matches; {count} wanted")
    chosen = random.Random(seed).sample(list(rows), count)
    return [Asker(r["user_id"], r["scope_id"], r["display_name"] or str(r["user_id"])) for r in chosen]


def rounds_of(askers: Sequence[Asker], concurrency: int, rounds: int) -> list[list[Asker]]:
    """``rounds`` batches of ``concurrency`` different members (members repeat only across rounds)."""
    batches = []
    for number in range(rounds):
        start = number * concurrency
        batches.append([askers[(start + i) % len(askers)] for i in range(concurrency)])
    return batches


def format_markdown(report: MatchesBenchReport) -> str:
    """The BENCHMARKS.md section body: both latencies, the setting, and the verdict."""
    lines = [
        "| measured from INTERACTION_CREATE sent to … | samples | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, values, samples in (
        (f"(a) first interaction callback (deferred), {report.concurrency} at once", "first_callback_ms",
         report.samples),
        (f"(b) the message with the matches (followup), {report.concurrency} at once",
         "matches_message_ms", report.samples),
        ("(a) first interaction callback, one at a time", "first_callback_ms", report.alone),
        ("(b) the message with the matches, one at a time", "matches_message_ms", report.alone),
    ):
        measured = _measured(samples, values)
        if not measured:
            continue
        stats = Percentiles.of(measured)
        lines.append(f"| {label} | {len(measured)} | {stats.p50:.1f} ms | {stats.p95:.1f} ms "
                     f"| {stats.p99:.1f} ms | {stats.max:.1f} ms |")
    verdict = "pass" if report.passed else "FAIL"
    lines += [
        "",
        f"- **{verdict}** (goal: p99 of both ≤ {TARGET_P99_MS:.0f} ms, zero errors); errors: "
        f"{report.errors}.",
        f"- {report.members:,} synthetic members imported, one recluster of every guild; the live "
        f"runs serve {report.match_rows:,} stored match rows.",
        f"- {report.rounds} rounds of {report.concurrency} concurrent `/matches` (different "
        "members within a round, each in a guild of theirs where the run stored matches), after "
        "one unmeasured warm-up round; a round starts when the previous one has been answered. "
        "Then the first round's members once more, one at a time (not part of the verdict).",
        "- The real `SoundSyncBot` (discord.py, started by `bootstrap.serve` as `soundsync bot` "
        f"does; asyncpg pool of {report.pool_size}) against the fake Discord (REST + gateway) "
        "running in its own process on loopback, which also takes the times; PostgreSQL on the "
        "same machine.",
        f"- The bot's process spent {report.bot_cpu_ms:.1f} ms of CPU per `/matches` in the measured "
        "rounds (discord.py, aiohttp, asyncpg, reasons, rendering) on one event loop, so the last "
        f"answer of a burst of {report.concurrency} cannot come before about "
        f"{report.bot_cpu_ms * report.concurrency:.0f} ms: most of the gap between the two pairs "
        "of rows (PostgreSQL, the fake and other work on the host share the same cores).",
        "- (a) is the bot's `defer()`, sent by the command tree before its presence check (which "
        "may wait for a pooled connection behind other commands' queries); (b) is the "
        "followup carrying the first match's embed and the pager (stored matches read from the "
        "live run, page rendered).",
    ]
    return "\n".join(lines) + "\n"
