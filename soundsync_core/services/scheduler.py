"""The in-process scheduler: weekly refresh + recluster, weekly digest, and an outbox retry.

APScheduler 3's ``AsyncIOScheduler`` lives only here. Every job is guarded by a PostgreSQL
advisory lock, so when several processes run a scheduler (bot workers, ``soundsync run``) only
one runs a given job at a time; the others log it and skip. A weekly job also runs once per
fire time: a process whose scheduler fires after another one's run has finished finds the run
recorded and skips too. Jobs coalesce: a run missed while
the event loop was busy — or while the process was down, see :func:`missed_jobs` — runs once,
never once per missed fire time.

Composition (the ``soundsync`` command)::

    jobs = WeeklyJobs(pool, settings, sender, refresh=ingestion_refresh)
    scheduler = await start_scheduler(jobs, settings)
    ...
    await jobs.stop(scheduler)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from soundsync_core.repositories import scheduler_runs
from soundsync_core.services.digest import DMSender, fill_outbox, period_of
from soundsync_core.services.digest_delivery import drain_outbox
from soundsync_core.services.recluster import (
    NothingToClusterError,
    ReclusterBusyError,
    RunnerFactory,
    recluster,
)
from soundsync_core.settings import Settings

log = logging.getLogger(__name__)

Refresh = Callable[[], Awaitable[object]]

WEEKLY_RECLUSTER = "weekly_recluster"
WEEKLY_DIGEST = "weekly_digest"
OUTBOX_RETRY = "outbox_retry"
# Any constants will do, as long as every SoundSync process uses the same ones.
JOB_LOCK_KEYS = {WEEKLY_RECLUSTER: 0x50554E44_0010, WEEKLY_DIGEST: 0x50554E44_0011}
# A weekly job that could not start on time (event loop busy, brief outage) still runs if it
# is at most this late; beyond that :func:`missed_jobs` decides at the next start.
MISFIRE_GRACE_SECONDS = 6 * 3600
OUTBOX_RETRY_MINUTES = 15
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class WeeklyJobs:
    """The scheduled work, with its dependencies injected (tests call the methods directly)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        sender: DMSender,
        *,
        refresh: Refresh | None = None,
        runner: RunnerFactory | None = None,
        max_attempts: int = 3,
        matches_per_digest: int = 5,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.sender = sender
        self.refresh = refresh
        self.runner = runner
        self.max_attempts = max_attempts
        self.matches_per_digest = matches_per_digest
        self.now = now
        self.stop_event = asyncio.Event()

    async def weekly_recluster(self) -> bool:
        """Refresh stale profiles, then recluster; False when another process had the job."""
        return await run_exclusively(self.pool, WEEKLY_RECLUSTER, self._refresh_and_recluster,
                                     once_per=self._fire_times(self.settings.recluster_cron))

    async def weekly_digest(self) -> bool:
        """Fill this week's outbox, then drain it; False when another process had the job."""
        return await run_exclusively(self.pool, WEEKLY_DIGEST, self._fill_and_drain,
                                     once_per=self._fire_times(self.settings.digest_cron))

    def _fire_times(self, expr: str) -> FireTimes:
        return FireTimes(crontab_trigger(expr), self.now())

    async def retry_outbox(self) -> None:
        """Drain what is left: transient failures, rows a crashed process left mid-send."""
        await self._drain()

    async def stop(self, scheduler: AsyncIOScheduler) -> None:
        """Stop scheduling; a running digest stops after the message it is sending."""
        self.stop_event.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    async def _refresh_and_recluster(self) -> None:
        if self.refresh is not None:
            try:
                await self.refresh()
            except Exception:
                # Stale profiles are better than no recluster at all.
                log.exception("profile refresh failed; reclustering the profiles we have")
        try:
            summary = await recluster(self.pool, runner=self.runner)
        except ReclusterBusyError:
            log.info("weekly recluster: a recluster is already running; not starting another")
        except NothingToClusterError as exc:
            log.info("weekly recluster: %s", exc)
        else:
            log.info("weekly recluster: %s", summary.text())

    async def _fill_and_drain(self) -> None:
        await fill_outbox(self.pool, period_of(self.now()), self.matches_per_digest)
        await self._drain()

    async def _drain(self) -> None:
        await drain_outbox(
            self.pool, self.sender,
            rate_per_second=self.settings.dm_rate_per_second,
            max_attempts=self.max_attempts,
            stop_event=self.stop_event,
        )


@dataclass(frozen=True)
class FireTimes:
    """A job's schedule and the moment it fired: it is due unless it ran since its last fire time."""

    trigger: CronTrigger
    now: datetime

    def due(self, last_run: datetime | None) -> bool:
        """Whether a fire time has passed since ``last_run`` (never ran: due)."""
        if last_run is None:
            return True
        next_fire = self.trigger.get_next_fire_time(None, last_run)
        return next_fire is not None and next_fire <= self.now


async def run_exclusively(
    pool: asyncpg.Pool, job_id: str, body: Callable[[], Awaitable[Any]],
    *, once_per: FireTimes | None = None,
) -> bool:
    """Run ``body`` unless another process holds the job's lock (or, with ``once_per``, has
    already run it since its last fire time); record when it last ran."""
    key = JOB_LOCK_KEYS[job_id]
    async with pool.acquire() as conn:
        if not await scheduler_runs.try_lock_job(conn, key):
            log.info("%s: another process is running it; skipped here", job_id)
            return False
        try:
            if once_per is not None and not once_per.due(await scheduler_runs.last_job_run(conn, job_id)):
                log.info("%s: another process already ran it for this fire time; skipped here", job_id)
                return False
            await body()
            await scheduler_runs.record_job_run(conn, job_id, datetime.now(UTC))
            return True
        finally:
            await scheduler_runs.unlock_job(conn, key)


def crontab_trigger(expr: str, timezone: str = "UTC") -> CronTrigger:
    """A trigger for a standard crontab line (0 or 7 = Sunday in the day-of-week field).

    APScheduler 3's ``CronTrigger.from_crontab`` reads day 0 as Monday, so the settings'
    default ``0 4 * * 1`` would fire on Tuesday; day numbers are turned into names first.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"crontab {expr!r} must have 5 fields")
    fields[4] = _day_names(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)


def _day_names(field: str) -> str:
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        match = re.fullmatch(r"(\*|\w+)(?:-(\w+))?(?:/(\d+))?", part)
        if match is None:
            raise ValueError(f"day-of-week {field!r} is not a crontab day list")
        first, last, step = match.groups()
        low = 0 if first == "*" else _day_number(first)
        high = 6 if first == "*" else _day_number(last) if last else low
        if high < low:  # 5-7 ends on Sunday written as 7 → 0
            high += 7
        days |= {d % 7 for d in range(low, high + 1, int(step or 1))}
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _day_number(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    if token[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(token[:3])
    raise ValueError(f"{token!r} is not a crontab day of the week")


def build_scheduler(
    jobs: WeeklyJobs,
    settings: Settings,
    *,
    timezone: str = "UTC",
    run_now: set[str] | frozenset[str] = frozenset(),
    misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS,
    retry_minutes: float = OUTBOX_RETRY_MINUTES,
) -> AsyncIOScheduler:
    """The scheduler with its three jobs (not started); jobs in ``run_now`` run at start."""
    scheduler = AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace_seconds},
    )
    cron = {WEEKLY_RECLUSTER: (settings.recluster_cron, jobs.weekly_recluster),
            WEEKLY_DIGEST: (settings.digest_cron, jobs.weekly_digest)}
    for job_id, (expr, func) in cron.items():
        extra = {"next_run_time": datetime.now(UTC)} if job_id in run_now else {}
        scheduler.add_job(func, crontab_trigger(expr, timezone), id=job_id, name=job_id, **extra)
    scheduler.add_job(
        jobs.retry_outbox, IntervalTrigger(minutes=retry_minutes, timezone=timezone),
        id=OUTBOX_RETRY, name=OUTBOX_RETRY,
    )
    return scheduler


async def missed_jobs(pool: asyncpg.Pool, settings: Settings, *, timezone: str = "UTC",
                      now: datetime | None = None) -> set[str]:
    """Weekly jobs that should have fired since they last ran (the process was down then).

    Each runs once at start however many fire times were missed. A job that never ran
    anywhere is not "missed": a new deployment waits for the first scheduled time.
    """
    now = now or datetime.now(UTC)
    missed = set()
    for job_id, expr in ((WEEKLY_RECLUSTER, settings.recluster_cron), (WEEKLY_DIGEST, settings.digest_cron)):
        last = await scheduler_runs.last_job_run(pool, job_id)
        if last is None:
            continue
        due = crontab_trigger(expr, timezone).get_next_fire_time(None, last)
        if due is not None and due <= now:
            log.info("%s missed its run of %s while no scheduler was up; running it once now", job_id, due)
            missed.add(job_id)
    return missed


async def start_scheduler(jobs: WeeklyJobs, settings: Settings, *, timezone: str = "UTC") -> AsyncIOScheduler:
    """Build the scheduler, queue the weekly runs missed while down, and start it."""
    run_now = await missed_jobs(jobs.pool, settings, timezone=timezone)
    scheduler = build_scheduler(jobs, settings, timezone=timezone, run_now=run_now)
    scheduler.start()
    return scheduler
