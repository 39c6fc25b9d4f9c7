"""Weekly digest: outbox fill, paced drain, closed DMs, opt-outs, crashes, channel fallback."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from soundsync_core.db.pool import create_pool
from soundsync_core.db.urls import with_database
from soundsync_core.services.digest import fill_outbox, forget_member, period_of, short_reasons
from soundsync_core.services.digest_delivery import Pacer, drain_outbox
from tests.integration.digest_doubles import (
    DIGEST_CHANNEL,
    GUILD,
    OPTED_IN,
    FakeClock,
    FakeSender,
    Inbox,
    PlainSender,
    ProcessDied,
    fast_pacer,
    seed_community,
    statuses,
)

PERIOD = "2026-W48"


@pytest.fixture(scope="module")
async def seeded_template(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A migrated database holding the seeded community and its live run, made once per module."""
    name = f"soundsync_digest_tpl_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        seed_pool = await create_pool(with_database(server_url, name), attempts=1, max_size=2)
        try:
            await seed_community(seed_pool)
        finally:
            await seed_pool.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pool(server_url: str, seeded_template: str) -> AsyncIterator[asyncpg.Pool]:
    """This test's own copy of the seeded community (recluster runs once per module, not per test)."""
    name = f"soundsync_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{seeded_template}"')
        test_pool = await create_pool(with_database(server_url, name), attempts=1, max_size=5)
        yield test_pool
        await test_pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _drain(pool: asyncpg.Pool, sender: object, **options: object):
    options.setdefault("pacer", fast_pacer())
    return await drain_outbox(pool, sender, rate_per_second=1.0, **options)  # type: ignore[arg-type]


def test_period_is_the_iso_week() -> None:
    assert period_of(datetime(2026, 11, 24, 12, tzinfo=UTC)) == "2026-W48"
    assert period_of(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"
    assert period_of(datetime(2027, 1, 4, tzinfo=UTC)) == "2027-W01"


def test_short_reasons_name_shared_artists_then_genres() -> None:
    reasons = {"shared_artists": [{"id": "a", "name": "Alpha"}, {"id": "b", "name": "Beta"}],
               "shared_tracks": [], "shared_genres": [{"id": "metal", "name": "metal"}]}
    assert short_reasons(reasons) == ["You both love Alpha and Beta", "Genres: metal"]
    assert short_reasons({}) == ["Similar overall taste"]


async def test_fill_writes_one_row_per_opted_in_member_once(pool: asyncpg.Pool) -> None:
    first = await fill_outbox(pool, PERIOD, limit_per_member=4)
    again = await fill_outbox(pool, PERIOD, limit_per_member=4)
    assert (first.written, again.written) == (len(OPTED_IN), 0)
    rows = await pool.fetch("SELECT user_id, kind, period, payload, status FROM dm_outbox")
    assert sorted(r["user_id"] for r in rows) == sorted(OPTED_IN)
    payload = rows[0]["payload"]
    assert payload["scope"] == {"id": str(GUILD), "name": "Listening Club"}
    assert len(payload["matches"]) == 4
    match = payload["matches"][0]
    assert 0 <= match["percent"] <= 100
    assert match["name"]
    assert match["reasons"]
    assert match["user_id"] != str(rows[0]["user_id"])


async def test_members_who_opted_out_get_nothing(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    # 1001 turns the digest off after the outbox was written: still nothing.
    await pool.execute("UPDATE members SET weekly_dm = false WHERE user_id = 1001")
    inbox = Inbox()
    report = await _drain(pool, FakeSender(inbox))
    assert {u for u, _ in inbox.dms} == set(OPTED_IN) - {1001}
    assert report.skipped == 1
    assert report.sent == len(OPTED_IN) - 1
    assert (await statuses(pool))[1001] == "skipped"
    assert all(u in OPTED_IN for u, _ in inbox.dms)


async def test_hidden_members_are_never_named_even_when_hidden_after_fill(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD, limit_per_member=10)
    named = {m["user_id"] for r in await pool.fetch("SELECT payload FROM dm_outbox")
             for m in r["payload"]["matches"]}
    hidden = int(sorted(named)[0])
    await pool.execute("UPDATE members SET visibility = 'hidden' WHERE user_id = $1", hidden)
    inbox = Inbox()
    await _drain(pool, FakeSender(inbox))
    shown = {m["user_id"] for _, p in inbox.dms for m in p["matches"]}
    assert str(hidden) not in shown
    assert len(inbox.dms) == len(OPTED_IN)


async def test_closed_dms_are_recorded_and_not_retried(pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE guilds SET digest_channel_id = NULL")
    await fill_outbox(pool, PERIOD)
    sender = FakeSender(Inbox(), closed={1010})
    report = await _drain(pool, sender)
    assert report.dm_closed == 1
    row = await pool.fetchrow("SELECT status, error, attempts FROM dm_outbox WHERE user_id = 1010")
    assert (row["status"], row["attempts"]) == ("dm_closed", 1)
    assert "50007" in row["error"]
    await _drain(pool, sender)
    assert sender.calls.count(1010) == 1
    assert await pool.fetchval("SELECT count(*) FROM channel_digests") == 0


async def test_transient_failures_retry_then_give_up(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    sender = FakeSender(inbox, failures={1000: 1, 1001: 99})
    report = await _drain(pool, sender, max_attempts=3)
    fetched = await pool.fetch("SELECT user_id, status, attempts, error FROM dm_outbox")
    rows = {r["user_id"]: r for r in fetched}
    assert (rows[1000]["status"], rows[1000]["attempts"]) == ("sent", 2)
    assert (rows[1001]["status"], rows[1001]["attempts"]) == ("failed", 3)
    assert "ConnectionResetError" in rows[1001]["error"]
    assert (report.retry_later, report.failed) == (3, 1)
    # A failed try may have reached Discord: every retry was checked first.
    assert sender.verified.count(1000) == 1
    assert sender.verified.count(1001) == 2
    assert len(inbox.received(1000)) == 1


async def test_the_sender_keeps_its_pace(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    clock = FakeClock()
    sender = FakeSender(Inbox())
    sender.clock = clock
    await drain_outbox(pool, sender, rate_per_second=2.0, pacer=Pacer(2.0, clock, clock.sleep))
    gaps = [b - a for a, b in zip(sender.sent_at, sender.sent_at[1:], strict=False)]
    assert len(sender.sent_at) == len(OPTED_IN)
    assert gaps == pytest.approx([0.5] * (len(OPTED_IN) - 1))


async def test_crash_after_claim_before_send_resumes_without_loss(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    with pytest.raises(ProcessDied):
        await _drain(pool, FakeSender(inbox, crash_before_send_to=1010))
    assert (await statuses(pool))[1010] == "sending"
    assert inbox.received(1010) == []
    report = await _drain(pool, FakeSender(inbox))
    assert report.requeued == 1
    assert sorted(u for u, _ in inbox.dms) == sorted(OPTED_IN)
    assert set((await statuses(pool)).values()) == {"sent"}


async def test_crash_after_send_before_mark_sends_nobody_twice(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    with pytest.raises(ProcessDied):
        await _drain(pool, FakeSender(inbox, crash_after_send_to=1010))
    assert (await statuses(pool))[1010] == "sending"
    restarted = FakeSender(inbox)
    report = await _drain(pool, restarted)
    assert report.confirmed == 1
    assert restarted.verified == [1010]
    assert sorted(u for u, _ in inbox.dms) == sorted(OPTED_IN)
    assert set((await statuses(pool)).values()) == {"sent"}


async def test_cancelled_mid_send_is_resolved_at_the_next_drain(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    stuck = FakeSender(inbox, block_on=1011)
    task = asyncio.create_task(_drain(pool, stuck))
    await asyncio.wait_for(stuck.blocked.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _drain(pool, FakeSender(inbox))
    assert sorted(u for u, _ in inbox.dms) == sorted(OPTED_IN)


async def test_a_sender_that_cannot_verify_resends_with_the_same_nonce(pool: asyncpg.Pool) -> None:
    """At least once: Discord's enforce_nonce drops the repeat if it comes within minutes."""
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    with pytest.raises(ProcessDied):
        await _drain(pool, PlainSender(inbox, crash_after_send_to=1010))
    await _drain(pool, PlainSender(inbox))
    first, second = inbox.received(1010)
    assert first["nonce"] == second["nonce"]
    assert len(first["nonce"]) <= 25


async def test_two_drains_at_once_send_each_digest_once(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    reports = await asyncio.gather(_drain(pool, FakeSender(inbox)), _drain(pool, FakeSender(inbox)))
    assert sorted(r.busy for r in reports) == [False, True]
    assert sorted(u for u, _ in inbox.dms) == sorted(OPTED_IN)


async def test_stop_event_leaves_the_rest_queued(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    stop = asyncio.Event()
    stop.set()
    report = await _drain(pool, FakeSender(Inbox()), stop_event=stop)
    assert report.stopped
    assert report.sent == 0
    assert set((await statuses(pool)).values()) == {"pending"}


async def test_last_weeks_unsent_digest_is_superseded(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, "2026-W47")
    report = await fill_outbox(pool, PERIOD)
    assert report.superseded == len(OPTED_IN)
    inbox = Inbox()
    await _drain(pool, FakeSender(inbox))
    assert {p["period"] for _, p in inbox.dms} == {PERIOD}


async def test_channel_digest_is_posted_once_for_closed_dms(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    with pytest.raises(ProcessDied):  # dies right after the channel post, before recording it
        await _drain(pool, FakeSender(inbox, closed={1010, 1020}, crash_after_post=True))
    report = await _drain(pool, FakeSender(inbox, closed={1010, 1020}))
    await fill_outbox(pool, PERIOD)
    await _drain(pool, FakeSender(inbox, closed={1010, 1020}))
    assert report.channel_posts == 0  # found already posted, not posted again
    assert len(inbox.posts) == 1
    channel, post = inbox.posts[0]
    assert channel == DIGEST_CHANNEL
    assert [e["user_id"] for e in post["members"]] == ["1010", "1020"]
    assert all(1 <= len(e["matches"]) <= 3 for e in post["members"])
    status = await pool.fetchval("SELECT status FROM channel_digests WHERE guild_id = $1", GUILD)
    assert status == "sent"


async def test_no_channel_digest_while_dms_are_still_queued(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD)
    inbox = Inbox()
    # Discord is down for everyone but 1010 (closed): the drain gives up and tries again later.
    failing = {u: 99 for u in OPTED_IN if u != 1010}
    await _drain(pool, FakeSender(inbox, closed={1010}, failures=failing), max_attempts=10)
    assert inbox.posts == []
    assert await pool.fetchval("SELECT count(*) FROM channel_digests") == 0
    await _drain(pool, FakeSender(inbox, closed={1010}))
    assert len(inbox.posts) == 1


async def test_an_unlinked_member_is_erased_from_stored_digests(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, PERIOD, limit_per_member=10)
    named = {m["user_id"] for r in await pool.fetch("SELECT payload FROM dm_outbox")
             for m in r["payload"]["matches"]}
    gone = int(sorted(named)[0])
    async with pool.acquire() as conn, conn.transaction():
        await forget_member(conn, gone)
        await conn.execute("DELETE FROM members WHERE user_id = $1", gone)
    text = str([r["payload"] for r in await pool.fetch("SELECT payload FROM dm_outbox")])
    assert str(gone) not in text
    assert await pool.fetchval("SELECT count(*) FROM dm_outbox") == len(OPTED_IN) - (gone in OPTED_IN)


async def test_old_finished_digests_are_purged(pool: asyncpg.Pool) -> None:
    await fill_outbox(pool, "2026-W30")
    await _drain(pool, FakeSender(Inbox()))
    await pool.execute("UPDATE dm_outbox SET created_at = now() - interval '60 days'")
    report = await fill_outbox(pool, PERIOD)
    assert report.purged == len(OPTED_IN)
    assert {r["period"] for r in await pool.fetch("SELECT period FROM dm_outbox")} == {PERIOD}
