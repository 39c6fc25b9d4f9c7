"""Acting on a match: say hi (handles shared only on accept), or never see that member again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg

from soundsync_core.repositories import connections
from soundsync_core.services.members import MemberError

ExclusionReason = Literal["friends", "not_interested"]
EXCLUSION_REASONS: tuple[str, ...] = ("friends", "not_interested")


class ConnectionRequestError(MemberError):
    """A say-hi request cannot be made or answered; the message says why."""


@dataclass(frozen=True)
class ConnectionRequest:
    """One say-hi request and, once accepted, both handles."""

    from_user: int
    to_user: int
    score: float | None
    status: str
    from_handle: str | None
    to_handle: str | None


def _request(row: asyncpg.Record) -> ConnectionRequest:
    return ConnectionRequest(
        row["from_user"], row["to_user"], row["score"], row["status"],
        row["from_handle"], row["to_handle"],
    )


async def say_hi(
    pool: asyncpg.Pool,
    from_user: int,
    to_user: int,
    *,
    guild_id: int | None,
    score: float | None,
    from_handle: str,
) -> ConnectionRequest:
    """Record a request from ``from_user`` to ``to_user`` (once per pair, while unanswered)."""
    if from_user == to_user:
        raise ConnectionRequestError("You cannot say hi to yourself.")
    async with pool.acquire() as conn, conn.transaction():
        existing = await connections.request_for_update(conn, from_user, to_user)
        if existing is not None and existing["status"] != "declined":
            raise ConnectionRequestError("You already said hi to this member.")
        row = await connections.upsert_pending_request(
            conn, from_user, to_user, guild_id, score, from_handle
        )
    if row is None:
        raise ConnectionRequestError("That member is no longer on SoundSync.")
    return _request(row)


async def cancel_hi(pool: asyncpg.Pool, from_user: int, to_user: int) -> None:
    """Forget a request that could not be delivered (their DMs are closed)."""
    await connections.delete_pending_request(pool, from_user, to_user)


async def answer_hi(
    pool: asyncpg.Pool, from_user: int, to_user: int, *, accept: bool, to_handle: str
) -> ConnectionRequest:
    """``to_user`` accepts or declines; only an accepted request carries both handles."""
    row = await connections.answer_pending_request(
        pool, from_user, to_user, "accepted" if accept else "declined", to_handle
    )
    if row is None:
        raise ConnectionRequestError("This request was already answered or withdrawn.")
    return _request(row)


async def exclude(pool: asyncpg.Pool, user_id: int, other_id: int, reason: str) -> None:
    """``other_id`` never appears in ``user_id``'s matches again (friends already / not interested)."""
    if reason not in EXCLUSION_REASONS:
        raise ValueError(f"unknown exclusion reason {reason!r}")
    if not await connections.upsert_exclusion(pool, user_id, other_id, reason):
        raise ConnectionRequestError("That member is no longer on SoundSync.")
