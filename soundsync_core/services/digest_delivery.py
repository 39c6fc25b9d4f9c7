"""Draining the digest outbox: paced, one sender at a time, crash-safe.

Delivery policy (why no member gets a digest twice and none is lost):

* Only one process drains (a PostgreSQL advisory lock, released by the server if the process
  dies), which also makes the pace global across processes.
* A row is claimed — ``sending``, ``attempts + 1`` — and that is committed *before* the DM is
  sent; the outcome (``sent``, ``dm_closed``, retry or ``failed``) is committed after.
* A crash between the two leaves the row in ``sending``. Whoever takes the lock next knows no
  sender is alive, so it puts such rows back in the queue. A row whose ``attempts`` shows an
  earlier, interrupted try (a crash, or a timeout that may have reached Discord) is *possibly
  sent*: before sending again we ask the sender (:class:`VerifyingDMSender.already_sent`,
  which looks for the period's marker in the DM channel) and mark it ``sent`` if it is there.
* Every try of a row carries the same nonce, derived from the row id. A Discord adapter sends
  it with ``enforce_nonce``, so Discord itself drops a repeat made within a few minutes — a
  second guard for senders that cannot look back.
* A sender that cannot verify is re-sent (at least once, deduplicated only by the nonce).
* A row interrupted more than ``max_attempts`` times is given up (``failed``), so a message
  that crashes the process cannot crash it forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from soundsync_core.repositories import outbox
from soundsync_core.services.digest import (
    WEEKLY_DIGEST,
    ChannelDigestPoster,
    DMClosedError,
    DMSender,
    VerifyingDMSender,
    channel_marker,
    dm_marker,
)

log = logging.getLogger(__name__)

# After this many transient failures in a row Discord is probably down: stop and retry later.
MAX_CONSECUTIVE_FAILURES = 5
CHANNEL_DIGEST_MEMBERS = 20
CHANNEL_DIGEST_MATCHES = 3


@dataclass
class DrainReport:
    """What one :func:`drain_outbox` call did."""

    sent: int = 0
    confirmed: int = 0  # found already delivered after an interruption: not sent again
    dm_closed: int = 0
    skipped: int = 0
    retry_later: int = 0
    failed: int = 0
    requeued: int = 0
    channel_posts: int = 0
    busy: bool = False  # another process is draining
    stopped: bool = False  # stop_event, or too many failures in a row

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


class Pacer:
    """At most ``rate_per_second`` calls, evenly spaced; clock and sleep injectable for tests."""

    def __init__(
        self,
        rate_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.interval = 1.0 / rate_per_second
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf

    async def wait(self) -> None:
        """Return when the next call may be made."""
        now = self._clock()
        if self._next > now:
            await self._sleep(self._next - now)
        self._next = max(now, self._next) + self.interval


async def drain_outbox(
    pool: asyncpg.Pool,
    sender: DMSender,
    *,
    rate_per_second: float,
    max_attempts: int = 3,
    stop_event: asyncio.Event | None = None,
    pacer: Pacer | None = None,
) -> DrainReport:
    """Send every pending digest DM, then the channel digests (if ``sender`` can post them).

    Returns at once (``busy``) when another process is draining. ``stop_event`` stops between
    two messages; what is left stays queued for the next drain.
    """
    report = DrainReport()
    pacer = pacer or Pacer(rate_per_second)
    stop = stop_event or asyncio.Event()
    async with pool.acquire() as conn:
        if not await outbox.try_lock_drain(conn):
            log.info("another process is draining the digest outbox; not draining here")
            report.busy = True
            return report
        try:
            report.requeued = await outbox.requeue_interrupted(conn)
            if report.requeued:
                log.warning("%d digest message(s) were interrupted mid-send; checking them", report.requeued)
            await _drain_messages(conn, sender, pacer, report, max_attempts, stop)
            if isinstance(sender, ChannelDigestPoster) and not report.stopped:
                await _drain_channel_digests(conn, sender, pacer, report, max_attempts, stop)
        finally:
            await outbox.unlock_drain(conn)
    log.info("digest drain: %s", report)
    return report


async def _drain_messages(
    conn: asyncpg.Connection,
    sender: DMSender,
    pacer: Pacer,
    report: DrainReport,
    max_attempts: int,
    stop: asyncio.Event,
) -> None:
    failures_in_row = 0
    while not stop.is_set():
        row = await outbox.claim_next_message(conn, WEEKLY_DIGEST)
        if row is None:
            return
        outcome = "skipped" if row["status"] == "skipped" else (
            await _deliver_message(conn, sender, pacer, row, max_attempts)
        )
        report.count(outcome)
        failures_in_row = failures_in_row + 1 if outcome == "retry_later" else 0
        if failures_in_row >= MAX_CONSECUTIVE_FAILURES:
            log.warning("%d digest DMs failed in a row; stopping until the next drain", failures_in_row)
            break
    report.stopped = True


async def _deliver_message(
    conn: asyncpg.Connection, sender: DMSender, pacer: Pacer, row: asyncpg.Record, max_attempts: int
) -> str:
    """Send one claimed row and record the outcome; returns a :class:`DrainReport` field name."""
    row_id, user_id, attempts = row["id"], row["user_id"], row["attempts"]
    payload = await _message_to_send(conn, row)
    if payload is None:
        await outbox.finish_message(conn, row_id, "skipped", "no match left to show")
        return "skipped"
    try:
        if attempts > 1 and isinstance(sender, VerifyingDMSender):
            await pacer.wait()
            if await sender.already_sent(user_id, payload["marker"]):
                await outbox.finish_message(conn, row_id, "sent", "found delivered after an interruption")
                return "confirmed"
        if attempts > max_attempts:
            await outbox.finish_message(conn, row_id, "failed", f"interrupted {attempts - 1} times")
            return "failed"
        await pacer.wait()
        await sender.send_dm(user_id, payload)
    except DMClosedError as exc:
        await outbox.finish_message(conn, row_id, "dm_closed", str(exc) or "DMs closed")
        return "dm_closed"
    except Exception as exc:  # any other failure is transient by the DMSender contract
        return await _retry_or_fail(conn, row_id, attempts, max_attempts, exc)
    await outbox.finish_message(conn, row_id, "sent")
    return "sent"


async def _retry_or_fail(
    conn: asyncpg.Connection, row_id: int, attempts: int, max_attempts: int, exc: Exception
) -> str:
    error = f"{type(exc).__name__}: {exc}"
    log.warning("digest DM %d failed (attempt %d/%d): %s", row_id, attempts, max_attempts, error)
    final = attempts >= max_attempts
    await outbox.finish_message(conn, row_id, "failed" if final else "pending", error)
    return "failed" if final else "retry_later"


async def _message_to_send(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any] | None:
    """The stored payload minus members who may no longer be listed to the member in its scope
    (hidden, left the guild, excluded since it was written)."""
    stored = row["payload"]
    others = [int(m["user_id"]) for m in stored["matches"]]
    shown = await outbox.still_shown(conn, row["user_id"], others, int(stored["scope"]["id"]))
    matches = [m for m in stored["matches"] if int(m["user_id"]) in shown]
    if not matches:
        return None
    return stored | {
        "matches": matches,
        "marker": dm_marker(row["period"]),
        "nonce": f"ssd-{row['id']}",  # Discord nonces are at most 25 characters
    }


# -- channel digests -------------------------------------------------------------------------


async def _drain_channel_digests(
    conn: asyncpg.Connection,
    poster: ChannelDigestPoster,
    pacer: Pacer,
    report: DrainReport,
    max_attempts: int,
    stop: asyncio.Event,
) -> None:
    await outbox.plan_channel_digests(conn, WEEKLY_DIGEST)
    while not stop.is_set():
        row = await outbox.claim_next_channel_digest(conn)
        if row is None:
            return
        outcome = await _post_channel_digest(conn, poster, pacer, row, max_attempts)
        if outcome == "sent":
            report.channel_posts += 1


async def _post_channel_digest(
    conn: asyncpg.Connection,
    poster: ChannelDigestPoster,
    pacer: Pacer,
    row: asyncpg.Record,
    max_attempts: int,
) -> str:
    guild_id, period, attempts = row["guild_id"], row["period"], row["attempts"]
    payload = await channel_digest_payload(conn, guild_id, period)

    async def finish(status: str, error: str | None = None) -> str:
        await outbox.finish_channel_digest(conn, guild_id, period, status, error)
        return status

    if payload is None:
        return await finish("skipped", "no closed-DM member with matches to show")
    try:
        if attempts > 1:
            await pacer.wait()
            if await poster.already_posted(row["channel_id"], payload["marker"]):
                await finish("sent", "found posted after an interruption")
                return "confirmed"
        if attempts > max_attempts:
            return await finish("failed", f"interrupted {attempts - 1} times")
        await pacer.wait()
        await poster.post_channel_digest(row["channel_id"], payload)
    except Exception as exc:  # a channel post has no "closed" case: every failure is retried
        log.warning("channel digest of guild %d failed (attempt %d): %s", guild_id, attempts, exc)
        status = "failed" if attempts >= max_attempts else "pending"
        return await finish(status, f"{type(exc).__name__}: {exc}")
    return await finish("sent")


async def channel_digest_payload(
    conn: asyncpg.Connection, guild_id: int, period: str
) -> dict[str, Any] | None:
    """Closed-DM members of the guild with their top matches *within that guild* only.

    Composed when posted (not stored), from the members' own digests: a match from another
    server or the global scope is never named in this guild's channel, nor is a hidden member.
    """
    digests = await outbox.closed_dm_digests(conn, WEEKLY_DIGEST, guild_id, period)
    everyone = {d["user_id"] for d in digests}
    everyone |= {int(m["user_id"]) for d in digests for m in d["payload"]["matches"]}
    visible = await outbox.guild_members_among(conn, guild_id, list(everyone))
    entries = []
    for digest in digests:
        shown = [m for m in digest["payload"]["matches"] if int(m["user_id"]) in visible]
        if digest["user_id"] in visible and shown:
            entries.append({"user_id": str(digest["user_id"]), "matches": shown[:CHANNEL_DIGEST_MATCHES]})
    if not entries:
        return None
    key = hashlib.sha256(f"{guild_id}:{period}".encode()).hexdigest()[:20]
    return {
        "period": period,
        "guild_id": str(guild_id),
        "members": entries[:CHANNEL_DIGEST_MEMBERS],
        "more": max(0, len(entries) - CHANNEL_DIGEST_MEMBERS),
        "marker": channel_marker(period),
        "nonce": f"ssc-{key}",
    }
