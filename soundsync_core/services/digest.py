"""The weekly match digest: written to the DM outbox first, then delivered by a paced sender.

``fill_outbox`` writes one row per opted-in member per ISO week (idempotent: the outbox is
unique per member, kind and period). ``drain_outbox`` (in :mod:`digest_delivery`) sends them.
Delivery goes through the :class:`DMSender` protocol, so this module knows nothing of Discord.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, Protocol, runtime_checkable

import asyncpg

from soundsync_core.repositories import match_store, outbox, runs

log = logging.getLogger(__name__)

WEEKLY_DIGEST = outbox.WEEKLY_DIGEST
GLOBAL_SCOPE_NAME = "all servers"
MAX_REASONS = 2
# Sent digests are kept this long (to answer "did I get it?"), then deleted.
KEEP_DAYS = 56


class DMClosedError(Exception):
    """The member does not accept DMs from the bot (Discord 403, code 50007)."""


@runtime_checkable
class DMSender(Protocol):
    """Delivers one digest DM. Raises :class:`DMClosedError` for closed DMs; any other exception
    is a transient failure (the row is retried later)."""

    async def send_dm(self, user_id: int, payload: dict[str, Any]) -> None: ...


@runtime_checkable
class VerifyingDMSender(DMSender, Protocol):
    """A sender that can tell whether a DM carrying ``marker`` already reached the member.

    Asked before re-sending a row whose earlier attempt was interrupted (crash, timeout), so
    a DM Discord accepted just before the crash is not sent twice.
    """

    async def already_sent(self, user_id: int, marker: str) -> bool: ...


@runtime_checkable
class ChannelDigestPoster(Protocol):
    """Posts the channel digest (the fallback for members whose DMs are closed)."""

    async def post_channel_digest(self, channel_id: int, payload: dict[str, Any]) -> None: ...

    async def already_posted(self, channel_id: int, marker: str) -> bool: ...


@dataclass(frozen=True)
class FillReport:
    """What one :func:`fill_outbox` call wrote."""

    period: str
    written: int
    without_matches: int
    superseded: int
    purged: int


def period_of(moment: datetime | None = None) -> str:
    """The digest period of a moment: its ISO week, e.g. ``"2026-W48"`` (UTC by default)."""
    moment = moment or datetime.now(UTC)
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def dm_marker(period: str) -> str:
    """Text every digest DM of ``period`` carries, so a sender can find one it already sent."""
    return f"SoundSync weekly digest · {period}"


def channel_marker(period: str) -> str:
    """Text the channel digest of ``period`` carries (same purpose as :func:`dm_marker`)."""
    return f"SoundSync channel digest · {period}"


async def fill_outbox(pool: asyncpg.Pool, period: str, limit_per_member: int = 5) -> FillReport:
    """Write this period's digest for every opted-in member who has matches (idempotent).

    Each member gets one row, for the scope (one of their guilds, or global) where their best
    match scores highest. Members already in the outbox for the period are left alone, so a
    second call — or a crash and a rerun — writes nothing twice. Waiting rows of earlier
    periods are skipped: a digest a week late would only repeat the new one.
    """
    written = without = 0
    async with pool.acquire() as conn:
        purged = await outbox.purge_finished(conn, KEEP_DAYS)
        superseded = await outbox.supersede_older(conn, WEEKLY_DIGEST, period)
        candidates = await outbox.members_to_digest(conn, WEEKLY_DIGEST, period)
        for user_id, rows in groupby(candidates, key=lambda r: r["user_id"]):
            payload = await _best_payload(conn, user_id, list(rows), period, limit_per_member)
            if payload is None:
                without += 1
                continue
            written += int(await outbox.insert_message(conn, user_id, WEEKLY_DIGEST, period, payload))
    log.info("digest %s: %d written, %d without matches, %d superseded",
             period, written, without, superseded)
    return FillReport(period, written, without, superseded, purged)


async def forget_member(conn: asyncpg.Connection, user_id: int) -> None:
    """Erase a member who unlinks from other members' stored digests.

    Their own rows go with the ``members`` row (ON DELETE CASCADE); this removes them where
    they are named as someone else's match. Call it in the unlink transaction.
    """
    await outbox.forget_match(conn, user_id)


async def _best_payload(
    conn: asyncpg.Connection, user_id: int, scopes: list[asyncpg.Record], period: str, limit: int
) -> dict[str, Any] | None:
    best: tuple[float, asyncpg.Record, list[asyncpg.Record]] | None = None
    for scope in scopes:
        matches = await match_store.live_matches(conn, scope["scope_id"], user_id, limit)
        if matches and (best is None or matches[0]["score"] > best[0]):
            best = (matches[0]["score"], scope, matches)
    if best is None:
        return None
    _, scope, matches = best
    return digest_payload(period, scope["scope_id"], scope["scope_name"], matches)


def digest_payload(
    period: str, scope_id: int, scope_name: str | None, matches: Iterable[Any]
) -> dict[str, Any]:
    """The stored digest: plain JSON (ids as strings — snowflakes overflow JSON numbers)."""
    if scope_id == runs.GLOBAL_SCOPE:
        scope_name = GLOBAL_SCOPE_NAME
    return {
        "period": period,
        "scope": {"id": str(scope_id), "name": scope_name or f"server {scope_id}"},
        "matches": [
            {
                "user_id": str(m["other_id"]),
                "name": m["display_name"] or str(m["other_id"]),
                "percent": round(float(m["score"]) * 100),
                "reasons": short_reasons(m["reasons"]),
            }
            for m in matches
        ],
    }


def short_reasons(reasons: dict[str, Any]) -> list[str]:
    """At most two short lines saying why two members match, strongest evidence first."""
    lines = []
    artists = _names(reasons.get("shared_artists"), 3)
    if artists:
        lines.append("You both love " + _join(artists))
    tracks = _names(reasons.get("shared_tracks"), 2)
    if tracks:
        lines.append("Shared tracks: " + _join(tracks))
    genres = _names(reasons.get("shared_genres"), 3)
    if genres:
        lines.append("Genres: " + ", ".join(genres))
    return lines[:MAX_REASONS] or ["Similar overall taste"]


def _names(items: list[dict[str, Any]] | None, limit: int) -> list[str]:
    return [str(i.get("name") or i.get("id")) for i in (items or [])[:limit]]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
