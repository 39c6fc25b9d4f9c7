"""Scheduler: jobs from the settings' crontab, one process per job, coalesced missed runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from soundsync_core.services.scheduler import (
    JOB_LOCK_KEYS,
    OUTBOX_RETRY,
    WEEKLY_DIGEST,
    WEEKLY_RECLUSTER,
    WeeklyJobs,
    build_scheduler,
    crontab_trigger,
    missed_jobs,
)
from soundsync_core.settings import load_settings
from tests.integration.digest_doubles import FakeSender, Inbox, seed_community

TUESDAY = datetime(2026, 11, 24, 12, tzinfo=UTC)


class CountingJobs(WeeklyJobs):
    """The real locking and bookkeeping, with the digest body replaced by a counter."""

    def __init__(self, pool: asyncpg.Pool, **settings: str) -> None:
        super().__init__(pool, load_settings(**settings), FakeSender(Inbox()))
        self.digests: list[datetime] = []
        self.ran = asyncio.Event()

    async def _fill_and_drain(self) -> None:
        self.digests.append(datetime.now(UTC))
        self.ran.set()

    async def next_run(self) -> None:
        await asyncio.wait_for(self.ran.wait(), 5)
        self.ran.clear()


def test_crontab_days_mean_what_crontab_says() -> None:
    # APScheduler 3 alone would read 1 as Tuesday and 5 as Saturday.
    monday = crontab_trigger("0 4 * * 1").get_next_fire_time(None, TUESDAY)
    friday = crontab_trigger("0 17 * * 5").get_next_fire_time(None, TUESDAY)
    sunday = crontab_trigger("0 0 * * 7").get_next_fire_time(None, TUESDAY)
    assert (monday.strftime("%a %H:%M"), monday.day) == ("Mon 04:00", 30)
    assert (friday.strftime("%a %H:%M"), friday.day) == ("Fri 17:00", 27)
    assert sunday.strftime("%a") == "Sun"
    assert crontab_trigger("0 0 * * 5-7").get_next_fire_time(None, TUESDAY).strftime("%a") == "Fri"
    with pytest.raises(ValueError, match="day of the week"):
        crontab_trigger("0 0 * * 9")


async def test_jobs_come_from_the_settings_and_never_overlap(pool: asyncpg.Pool) -> None:
    jobs = CountingJobs(pool, recluster_cron="30 3 * * 1", digest_cron="0 18 * * 5")
    scheduler = build_scheduler(jobs, jobs.settings, misfire_grace_seconds=600)
    scheduler.start(paused=True)
    try:
        by_id = {job.id: job for job in scheduler.get_jobs()}
        assert set(by_id) == {WEEKLY_RECLUSTER, WEEKLY_DIGEST, OUTBOX_RETRY}
        for job in by_id.values():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 600)
        recluster_at = by_id[WEEKLY_RECLUSTER].trigger.get_next_fire_time(None, TUESDAY)
        digest_at = by_id[WEEKLY_DIGEST].trigger.get_next_fire_time(None, TUESDAY)
        assert recluster_at.strftime("%a %H:%M") == "Mon 03:30"
        assert digest_at.strftime("%a %H:%M") == "Fri 18:00"
    finally:
        scheduler.shutdown(wait=False)


async def test_a_job_another_process_holds_is_skipped(pool: asyncpg.Pool) -> None:
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    jobs = WeeklyJobs(pool, load_settings(), FakeSender(Inbox()), refresh=refresh)
    other_process = await pool.acquire()
    try:
        key = JOB_LOCK_KEYS[WEEKLY_RECLUSTER]
        assert await other_process.fetchval("SELECT pg_try_advisory_lock($1)", key)
        assert await jobs.weekly_recluster() is False
        assert refreshed == []
        await other_process.execute("SELECT pg_advisory_unlock($1)", JOB_LOCK_KEYS[WEEKLY_RECLUSTER])
    finally:
        await pool.release(other_process)
    assert await jobs.weekly_recluster() is True  # nobody to cluster yet: logged, not raised
    assert refreshed == [1]


async def test_two_concurrent_runs_of_a_job_run_it_once(pool: asyncpg.Pool) -> None:
    release, started = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    async def slow_refresh() -> None:
        calls.append(1)
        started.set()
        await release.wait()

    jobs = WeeklyJobs(pool, load_settings(), FakeSender(Inbox()), refresh=slow_refresh)
    first = asyncio.create_task(jobs.weekly_recluster())
    await asyncio.wait_for(started.wait(), 5)
    assert await jobs.weekly_recluster() is False
    release.set()
    assert await first is True
    assert calls == [1]


async def test_a_run_another_process_finished_is_not_repeated_for_the_same_fire_time(
    pool: asyncpg.Pool,
) -> None:
    fired = datetime.now(UTC) - timedelta(minutes=1)
    settings = load_settings(_env_file=None, recluster_cron=f"{fired.minute} {fired.hour} * * *")
    calls: list[int] = []

    async def refresh() -> None:
        calls.append(1)

    def process(now: datetime | None = None) -> WeeklyJobs:
        clock = (lambda: now) if now else (lambda: datetime.now(UTC))
        return WeeklyJobs(pool, settings, FakeSender(Inbox()), refresh=refresh, now=clock)

    assert await process().weekly_recluster() is True
    assert await process().weekly_recluster() is False  # its scheduler fired a little later
    assert await process(datetime.now(UTC) + timedelta(days=1)).weekly_recluster() is True
    assert calls == [1, 1]


async def test_weekly_recluster_refreshes_then_switches_a_run_live(pool: asyncpg.Pool) -> None:
    await seed_community(pool)
    order: list[str] = []

    async def refresh() -> None:
        live = await pool.fetchval("SELECT count(*) FROM live_runs")
        order.append(f"refresh, live runs: {live}")

    before = await pool.fetchval("SELECT max(run_id) FROM live_runs")
    jobs = WeeklyJobs(pool, load_settings(), FakeSender(Inbox()), refresh=refresh)
    assert await jobs.weekly_recluster() is True
    assert order == ["refresh, live runs: 1"]
    assert await pool.fetchval("SELECT max(run_id) FROM live_runs") > before


async def test_weekly_digest_fills_and_drains(pool: asyncpg.Pool) -> None:
    await seed_community(pool)
    inbox = Inbox()
    settings = load_settings(dm_rate_per_second=5)
    jobs = WeeklyJobs(pool, settings, FakeSender(inbox), now=lambda: TUESDAY)
    assert await jobs.weekly_digest() is True
    assert {p["period"] for _, p in inbox.dms} == {"2026-W48"}
    assert await pool.fetchval("SELECT count(*) FROM dm_outbox WHERE status = 'sent'") == len(inbox.dms)


async def test_missed_fire_times_coalesce_into_one_run(pool: asyncpg.Pool) -> None:
    jobs = CountingJobs(pool, digest_cron="* * * * *")
    scheduler = build_scheduler(jobs, jobs.settings, misfire_grace_seconds=3600)
    scheduler.start(paused=True)
    try:
        # As if the event loop had been stuck for ten minutes: ten fire times have passed.
        scheduler.modify_job(WEEKLY_DIGEST, next_run_time=datetime.now(UTC) - timedelta(minutes=10))
        scheduler.resume()
        await jobs.next_run()
        await asyncio.sleep(0.3)
        assert len(jobs.digests) == 1
        next_run = scheduler.get_job(WEEKLY_DIGEST).next_run_time
        assert next_run > datetime.now(UTC)
    finally:
        scheduler.shutdown(wait=False)


async def test_runs_missed_while_down_run_once_at_start(pool: asyncpg.Pool) -> None:
    settings = load_settings(recluster_cron="0 4 * * 1", digest_cron="0 17 * * 5")
    assert await missed_jobs(pool, settings, now=TUESDAY) == set()  # never ran: nothing missed
    jobs = CountingJobs(pool)
    assert await jobs.weekly_digest() is True  # records its last run (now)
    jobs.ran.clear()
    assert await missed_jobs(pool, settings) == set()
    await pool.execute(
        "UPDATE app_state SET value = $1 WHERE key LIKE '%weekly_digest'",
        {"at": (datetime.now(UTC) - timedelta(days=22)).isoformat()},
    )
    assert await missed_jobs(pool, settings) == {WEEKLY_DIGEST}  # three Fridays, one run
    scheduler = build_scheduler(jobs, settings, run_now={WEEKLY_DIGEST})
    scheduler.start()
    try:
        await jobs.next_run()
        await asyncio.sleep(0.3)
        assert len(jobs.digests) == 2
    finally:
        scheduler.shutdown(wait=False)
    assert await missed_jobs(pool, settings) == set()
