"""Linked listening accounts: encrypted tokens, status, ingestion bookkeeping.

Tokens only ever reach the database as Fernet ciphertext from the :class:`TokenVault`; this
module is the one place that reads or writes ``accounts`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from soundsync_core.security.vault import TokenVault

# The statuses are the source protocol's; re-exported for the callers of this repository.
from soundsync_core.sources.base import ACTIVE as ACTIVE
from soundsync_core.sources.base import ERROR as ERROR
from soundsync_core.sources.base import EXPIRED as EXPIRED
from soundsync_core.sources.base import NOT_ALLOWLISTED as NOT_ALLOWLISTED
from soundsync_core.sources.base import Credentials


@dataclass(frozen=True)
class AccountStatus:
    """What the bot shows about a member's link (no secrets)."""

    user_id: int
    source: str
    status: str
    status_detail: str | None
    external_name: str | None
    authorized_at: datetime | None
    last_ingested_at: datetime | None

    @property
    def usable(self) -> bool:
        """True when the link works and the member need not do anything."""
        return self.status == ACTIVE


async def upsert_member(
    conn: asyncpg.Connection, user_id: int, guild_id: int | None = None
) -> None:
    """Make sure the member (and their guild membership, when known) exists."""
    await conn.execute(
        "INSERT INTO members (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING", user_id
    )
    if guild_id is not None:
        await conn.execute(
            "INSERT INTO guild_members (guild_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            guild_id, user_id,
        )


def _expires(credentials: Credentials) -> datetime | None:
    if credentials.expires_at is None:
        return None
    return datetime.fromtimestamp(credentials.expires_at, UTC)


def _sealed(vault: TokenVault, secret: str | None) -> bytes | None:
    return None if secret is None else vault.encrypt(secret)


async def store_link(
    conn: asyncpg.Connection,
    vault: TokenVault,
    user_id: int,
    source: str,
    credentials: Credentials | None,
    *,
    external_id: str | None,
    external_name: str | None,
) -> None:
    """A new (or renewed) link: encrypted credentials, status active, six-month clock restarted."""
    await conn.execute(
        """INSERT INTO accounts (user_id, source, external_id, external_name, access_token_enc,
                                 refresh_token_enc, token_expires_at, authorized_at, scope, status,
                                 status_detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, 'active', NULL)
           ON CONFLICT (user_id, source) DO UPDATE
           SET external_id = COALESCE(EXCLUDED.external_id, accounts.external_id),
               external_name = COALESCE(EXCLUDED.external_name, accounts.external_name),
               access_token_enc = EXCLUDED.access_token_enc,
               refresh_token_enc = EXCLUDED.refresh_token_enc,
               token_expires_at = EXCLUDED.token_expires_at, authorized_at = now(),
               scope = EXCLUDED.scope, status = 'active', status_detail = NULL""",
        user_id, source, external_id, external_name,
        _sealed(vault, credentials.access_token) if credentials else None,
        _sealed(vault, credentials.refresh_token) if credentials else None,
        _expires(credentials) if credentials else None,
        credentials.scope if credentials else None,
    )


async def update_credentials(
    conn: asyncpg.Connection, vault: TokenVault, user_id: int, source: str, credentials: Credentials
) -> None:
    """Store refreshed credentials (the refresh token may be the old one, kept by the adapter)."""
    await conn.execute(
        """UPDATE accounts SET access_token_enc = $3, refresh_token_enc = $4, token_expires_at = $5
           WHERE user_id = $1 AND source = $2""",
        user_id, source, vault.encrypt(credentials.access_token),
        _sealed(vault, credentials.refresh_token), _expires(credentials),
    )


async def load_account(
    conn: asyncpg.Connection, vault: TokenVault, user_id: int, source: str
) -> tuple[str | None, Credentials | None]:
    """The account's external id and decrypted credentials (None when none are stored)."""
    row = await conn.fetchrow(
        """SELECT external_id, access_token_enc, refresh_token_enc, token_expires_at, scope
           FROM accounts WHERE user_id = $1 AND source = $2""",
        user_id, source,
    )
    if row is None:
        return None, None
    if row["access_token_enc"] is None:
        return row["external_id"], None
    expires = row["token_expires_at"]
    refresh = row["refresh_token_enc"]
    return row["external_id"], Credentials(
        access_token=vault.decrypt(row["access_token_enc"]),
        refresh_token=None if refresh is None else vault.decrypt(refresh),
        expires_at=None if expires is None else expires.timestamp(),
        scope=row["scope"] or "",
    )


async def set_status(
    conn: asyncpg.Connection,
    user_id: int,
    source: str,
    status: str,
    detail: str | None = None,
    *,
    forget_tokens: bool = False,
) -> None:
    """Record a status change (creating the row if needed); dead tokens may be forgotten."""
    await conn.execute(
        """INSERT INTO accounts (user_id, source, status, status_detail) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, source) DO UPDATE
           SET status = EXCLUDED.status, status_detail = EXCLUDED.status_detail,
               access_token_enc = CASE WHEN $5 THEN NULL ELSE accounts.access_token_enc END,
               refresh_token_enc = CASE WHEN $5 THEN NULL ELSE accounts.refresh_token_enc END""",
        user_id, source, status, detail, forget_tokens,
    )


async def mark_ingested(
    conn: asyncpg.Connection, user_id: int, source: str, window: str | None = None
) -> None:
    """The member's profile for ``source`` was just stored (``window``: the period it covers)."""
    await conn.execute(
        """UPDATE accounts SET last_ingested_at = now(),
                  listening_window = COALESCE($3, listening_window)
           WHERE user_id = $1 AND source = $2""",
        user_id, source, window,
    )


async def stale_accounts(
    conn: asyncpg.Connection,
    source: str,
    older_than: timedelta,
    limit: int,
    *,
    with_credentials: bool = True,
) -> list[int]:
    """Active accounts whose profile is older than ``older_than`` (never ingested first).

    ``with_credentials``: only accounts that still hold a stored login.
    """
    rows = await conn.fetch(
        """SELECT user_id FROM accounts
           WHERE source = $1 AND status = 'active'
             AND (NOT $4 OR access_token_enc IS NOT NULL)
             AND (last_ingested_at IS NULL OR last_ingested_at < now() - $2::interval)
           ORDER BY last_ingested_at NULLS FIRST, user_id LIMIT $3""",
        source, older_than, limit, with_credentials,
    )
    return [r["user_id"] for r in rows]


async def any_with_status(conn: asyncpg.Connection | asyncpg.Pool, source: str, status: str) -> bool:
    """Whether some account of ``source`` has ``status``."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE source = $1 AND status = $2)", source, status
    )


async def account_status(
    conn: asyncpg.Connection, user_id: int, source: str = "spotify"
) -> AccountStatus | None:
    """The member's link status for ``source`` (None = never linked)."""
    row = await conn.fetchrow(
        """SELECT user_id, source, status, status_detail, external_name, authorized_at,
                  last_ingested_at FROM accounts WHERE user_id = $1 AND source = $2""",
        user_id, source,
    )
    return None if row is None else AccountStatus(**dict(row))


@dataclass(frozen=True)
class SourceFeed:
    """One source feeding a member's profile: when it was last read and which window."""

    source: str
    status: str
    refreshed_at: datetime | None
    window: str | None


async def feeds_of(conn: asyncpg.Connection, user_id: int) -> list[SourceFeed]:
    """Every source of the member's profile: linked accounts and snapshots without one
    (a profile import), by source name."""
    rows = await conn.fetch(
        """SELECT source, COALESCE(a.status, 'active') AS status,
                  GREATEST(a.last_ingested_at, p.captured_at) AS refreshed_at,
                  a.listening_window AS window
           FROM (SELECT source, last_ingested_at, status, listening_window
                 FROM accounts WHERE user_id = $1) a
           FULL JOIN (SELECT source, max(captured_at) AS captured_at
                      FROM profiles WHERE user_id = $1 GROUP BY source) p USING (source)
           ORDER BY source""",
        user_id,
    )
    return [SourceFeed(r["source"], r["status"], r["refreshed_at"], r["window"]) for r in rows]


async def delete_source(conn: asyncpg.Connection, user_id: int, source: str) -> bool:
    """Forget the member's account at ``source`` and its profile snapshots; False if none."""
    account = await conn.execute(
        "DELETE FROM accounts WHERE user_id = $1 AND source = $2", user_id, source
    )
    profiles = await conn.execute(
        "DELETE FROM profiles WHERE user_id = $1 AND source = $2", user_id, source
    )
    return account != "DELETE 0" or profiles != "DELETE 0"
