"""What a member or an admin changes about themselves or their server: settings, presence, unlink.

Every function takes the pool and plain ids; errors are :class:`MemberError` subclasses whose
message is written for the member (safe to show as is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from soundsync_core.errors import MemberFacingError
from soundsync_core.repositories import accounts, app_state, match_store, members, oauth_states, runs
from soundsync_core.services import digest

VISIBILITIES: tuple[str, ...] = ("server", "global", "hidden")
# Set by whoever learns the Spotify app's quota tier (the web side, or an admin): "full"/"development".
SPOTIFY_APP_MODE = "spotify.app_mode"


class MemberError(MemberFacingError):
    """A member-facing refusal; the message is plain language and safe to show."""


class NotLinkedError(MemberError):
    """The member has no SoundSync data yet."""

    def __init__(self) -> None:
        super().__init__("You have not linked a listening account yet — use /link first.")


@dataclass(frozen=True)
class MemberSettings:
    """The member's choices (members table)."""

    weekly_dm: bool
    visibility: str


@dataclass(frozen=True)
class CommunityStats:
    """What ``/soundsync-stats`` shows an admin."""

    linked_by_source: dict[str, int]
    members_in_guild: int
    last_run_finished: datetime | None
    last_run_members: int | None
    last_run_k: int | None
    spotify_app_mode: str  # "full", "development" or "unknown"
    source_problems: dict[str, str] = field(default_factory=dict)  # source → what to fix


async def record_guild(
    conn: asyncpg.Pool | asyncpg.Connection, guild_id: int, name: str | None
) -> None:
    """Remember a guild the bot is in (keeps its digest channel when already known)."""
    await members.record_guild(conn, guild_id, name)


async def record_presence(
    pool: asyncpg.Pool, guild_id: int, guild_name: str | None, user_id: int
) -> bool:
    """The member used SoundSync in this guild: record the guild, and the membership if linked.

    Without the privileged members intent this is how ``guild_members`` learns where a linked
    member is; unlinked users leave no row at all. Returns True when the member is linked (and
    so now recorded in the guild), which lets the caller skip the check next time.
    """
    async with pool.acquire() as conn:
        # Nearly every command finds both already recorded. Read first: an upsert would lock the
        # guild's row and wait for a commit on each command, queueing a busy guild's commands.
        known = await members.presence(conn, guild_id, guild_name, user_id)
        if not (known["guild_known"] and (known["member_known"] or not known["linked"])):
            async with conn.transaction():
                await _write_presence(conn, guild_id, guild_name, user_id)
        return known["linked"]


async def _write_presence(
    conn: asyncpg.Connection, guild_id: int, guild_name: str | None, user_id: int
) -> None:
    await record_guild(conn, guild_id, guild_name)
    await members.add_to_guild(conn, guild_id, user_id)


async def forget_membership(pool: asyncpg.Pool, guild_id: int, user_id: int) -> None:
    """The member left the guild: they no longer match there."""
    await members.remove_from_guild(pool, guild_id, user_id)


async def member_settings(pool: asyncpg.Pool, user_id: int) -> MemberSettings:
    """The member's current settings (:class:`NotLinkedError` when unknown)."""
    row = await members.settings_of(pool, user_id)
    if row is None:
        raise NotLinkedError()
    return MemberSettings(row["weekly_dm"], row["visibility"])


async def update_settings(
    pool: asyncpg.Pool,
    user_id: int,
    *,
    weekly_dm: bool | None = None,
    visibility: str | None = None,
) -> MemberSettings:
    """Change the given settings (None = keep) and return the result."""
    if visibility is not None and visibility not in VISIBILITIES:
        raise MemberError(f"Visibility must be one of {', '.join(VISIBILITIES)}.")
    row = await members.update_settings(pool, user_id, weekly_dm, visibility)
    if row is None:
        raise NotLinkedError()
    return MemberSettings(row["weekly_dm"], row["visibility"])


async def unlink(pool: asyncpg.Pool, user_id: int) -> bool:
    """Delete every row SoundSync holds about the member; False when there was nothing.

    ``members`` cascades to every member-owned table. ``oauth_states`` has no foreign key (a
    state exists before the member does) and neither have ``matches`` and ``user_clusters``
    (bulk-written per run), so their rows go explicitly in the same transaction, and so do the
    member's mentions in other members' pending digests.
    """
    async with pool.acquire() as conn, conn.transaction():
        await match_store.delete_member_rows(conn, user_id)
        await digest.forget_member(conn, user_id)
        had_states = await oauth_states.delete_member_states(conn, user_id)
        had_member = await members.delete_member(conn, user_id)
    return had_member or had_states


async def unlink_source(pool: asyncpg.Pool, user_id: int, source: str) -> bool:
    """Remove one source from the member's profile (its account, login and snapshots); the
    member, their settings and other sources stay. False when that source fed nothing."""
    async with pool.acquire() as conn, conn.transaction():
        return await accounts.delete_source(conn, user_id, source)


async def set_digest_channel(
    pool: asyncpg.Pool, guild_id: int, guild_name: str | None, channel_id: int | None
) -> None:
    """Where the weekly digest of this guild is posted (None = nowhere)."""
    await members.set_digest_channel(pool, guild_id, guild_name, channel_id)


async def spotify_app_mode(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """"full", "development" or "unknown", from what this deployment has learnt so far.

    An explicit fact wins; otherwise a member refused as not allowlisted, or an app without
    audio features, both mean the 5-user development mode.
    """
    explicit = await app_state.get_fact(conn, SPOTIFY_APP_MODE)
    if explicit in ("full", "development"):
        return str(explicit)
    refused = await accounts.any_with_status(conn, "spotify", accounts.NOT_ALLOWLISTED)
    features = await app_state.get_fact(conn, app_state.SPOTIFY_AUDIO_FEATURES)
    if refused or (isinstance(features, dict) and features.get("forbidden")):
        return "development"
    return "unknown"


async def community_stats(pool: asyncpg.Pool, guild_id: int) -> CommunityStats:
    """Linked members of the guild by source, the last run serving it, the Spotify app mode."""
    async with pool.acquire() as conn:
        sources = await members.linked_by_source(conn, guild_id)
        in_guild = await members.guild_size(conn, guild_id)
        run_id = await runs.live_run_id(conn, guild_id)
        info = await runs.run_info(conn, run_id) if run_id is not None else None
        mode = await spotify_app_mode(conn)
        problems = await app_state.get_fact(conn, app_state.SOURCE_PROBLEMS) or {}
    metrics = (info or {}).get("metrics") or {}
    return CommunityStats(
        linked_by_source=sources,
        members_in_guild=in_guild,
        last_run_finished=(info or {}).get("finished_at"),
        last_run_members=metrics.get("members"),
        last_run_k=(info or {}).get("k"),
        spotify_app_mode=mode,
        source_problems=dict(problems),
    )

