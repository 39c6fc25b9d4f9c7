"""Members' listening profiles: write them in bulk, read them back as :class:`TasteProfile` objects
(a whole population as one table: :mod:`profile_table`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import asyncpg

from soundsync_core.profiles.merge import merge_profiles
from soundsync_core.taste.profile import (
    AUDIO_FEATURES,
    RankedArtist,
    RankedTrack,
    TasteProfile,
)

_FEATURE_COLUMNS = ", ".join(AUDIO_FEATURES)


async def _copy_temp(
    conn: asyncpg.Connection, table: str, columns: str, records: Iterable[tuple]
) -> None:
    """A temporary table (dropped at commit) filled with COPY."""
    await conn.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    await conn.copy_records_to_table(table, records=list(records))


def _artist_rows(profiles: Sequence[TasteProfile]) -> dict[str, tuple]:
    rows: dict[str, tuple] = {}
    for profile in profiles:
        for a in profile.artists:
            old = rows.get(a.id)
            if old is None or (a.genres and not old[2]):
                rows[a.id] = (a.id, a.name or a.id, list(a.genres))
    return rows


def _track_rows(profiles: Sequence[TasteProfile]) -> tuple[dict[str, tuple], dict[str, tuple]]:
    tracks: dict[str, tuple] = {}
    features: dict[str, tuple] = {}
    for profile in profiles:
        for t in profile.tracks:
            tracks.setdefault(t.id, (t.id, t.name or t.id, list(t.artist_ids)))
            if t.audio_features:
                values = tuple(t.audio_features.get(f) for f in AUDIO_FEATURES)
                features[t.id] = (t.id, *values)
    return tracks, features


def _profile_row(profile: TasteProfile, source: str, captured_at: datetime) -> tuple:
    artist_counts = [a.playcount for a in profile.artists]
    track_counts = [t.playcount for t in profile.tracks]
    return (
        profile.user_id,
        source,
        captured_at,
        [a.id for a in profile.artists],
        artist_counts if any(c is not None for c in artist_counts) else None,
        [t.id for t in profile.tracks],
        track_counts if any(c is not None for c in track_counts) else None,
    )


async def save_profiles(
    conn: asyncpg.Connection,
    profiles: Sequence[TasteProfile],
    *,
    source: str,
    captured_at: datetime | None = None,
    feature_provider: str = "import",
) -> None:
    """Upsert members, guild memberships, catalogue rows and each member's ``source`` snapshot.

    One transaction: either every profile of the batch is stored or none is. The member's
    previous snapshot of the same source is replaced.
    """
    captured_at = captured_at or datetime.now(UTC)
    tracks, features = _track_rows(profiles)
    async with conn.transaction():
        await _copy_temp(conn, "in_members", "user_id bigint, display_name text",
                         ((p.user_id, p.display_name) for p in profiles))
        await conn.execute(
            """INSERT INTO members (user_id, display_name)
               SELECT DISTINCT ON (user_id) user_id, NULLIF(display_name, '') FROM in_members
               ON CONFLICT (user_id) DO UPDATE
               SET display_name = COALESCE(EXCLUDED.display_name, members.display_name),
                   updated_at = now()"""
        )
        await _copy_temp(conn, "in_guilds", "guild_id bigint, user_id bigint",
                         ((g, p.user_id) for p in profiles for g in p.guild_ids))
        await conn.execute(
            """INSERT INTO guild_members (guild_id, user_id)
               SELECT DISTINCT guild_id, user_id FROM in_guilds ON CONFLICT DO NOTHING"""
        )
        await _copy_temp(conn, "in_artists", "artist_id text, name text, genres text[]",
                         _artist_rows(profiles).values())
        await conn.execute(
            """INSERT INTO artists (artist_id, name, genres)
               SELECT artist_id, name, genres FROM in_artists
               ON CONFLICT (artist_id) DO UPDATE
               SET name = EXCLUDED.name,
                   genres = CASE WHEN cardinality(EXCLUDED.genres) > 0
                                 THEN EXCLUDED.genres ELSE artists.genres END,
                   updated_at = now()"""
        )
        await _copy_temp(conn, "in_tracks", "track_id text, name text, artist_ids text[]",
                         tracks.values())
        await conn.execute(
            """INSERT INTO tracks (track_id, name, artist_ids)
               SELECT track_id, name, artist_ids FROM in_tracks
               ON CONFLICT (track_id) DO UPDATE
               SET name = EXCLUDED.name, artist_ids = EXCLUDED.artist_ids, updated_at = now()"""
        )
        await save_track_features(conn, features.values(), provider=feature_provider)
        rows = [_profile_row(p, source, captured_at) for p in profiles]
        await conn.execute(
            "DELETE FROM profiles WHERE source = $1 AND user_id = ANY($2::bigint[])",
            source, [p.user_id for p in profiles],
        )
        await conn.copy_records_to_table(
            "profiles",
            records=rows,
            columns=["user_id", "source", "captured_at", "artist_ids", "artist_counts",
                     "track_ids", "track_counts"],
        )


async def tracks_with_features(conn: asyncpg.Connection, track_ids: list[str]) -> set[str]:
    """Those of ``track_ids`` whose features were fetched already (from any provider, or none)."""
    rows = await conn.fetch(
        "SELECT track_id FROM track_features WHERE track_id = ANY($1::text[])", track_ids
    )
    return {r["track_id"] for r in rows}


async def save_track_features(
    conn: asyncpg.Connection, rows: Iterable[tuple], *, provider: str
) -> None:
    """Upsert ``(track_id, *AUDIO_FEATURES)`` rows fetched from ``provider``."""
    rows = list(rows)
    if not rows:
        return
    columns = ", ".join(f"{f} real" for f in AUDIO_FEATURES)
    await _copy_temp(conn, "in_features", f"track_id text, {columns}", rows)
    updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in AUDIO_FEATURES)
    await conn.execute(
        # Column names come from the AUDIO_FEATURES constant, never from input.
        f"""INSERT INTO track_features (track_id, provider, {_FEATURE_COLUMNS})
            SELECT track_id, $1, {_FEATURE_COLUMNS} FROM in_features
            ON CONFLICT (track_id) DO UPDATE
            SET provider = EXCLUDED.provider, fetched_at = now(), {updates}""",  # noqa: S608
        provider,
    )


async def profile_count(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """How many profile snapshots are stored (every member, every source)."""
    return await conn.fetchval("SELECT count(*) FROM profiles")


async def load_profiles(
    conn: asyncpg.Connection, user_ids: Sequence[int] | None = None
) -> list[TasteProfile]:
    """Every member's latest snapshot per source, merged, with names, genres and features.

    ``user_ids=None`` loads every member that has a profile. Members come back sorted by id.
    """
    snapshots = await latest_snapshots(conn, user_ids)
    guilds = await conn.fetch(
        """SELECT user_id, array_agg(guild_id ORDER BY guild_id) AS guild_ids FROM guild_members
           WHERE $1::bigint[] IS NULL OR user_id = ANY($1::bigint[]) GROUP BY user_id""",
        None if user_ids is None else list(user_ids),
    )
    guilds_of = {r["user_id"]: tuple(r["guild_ids"]) for r in guilds}
    artist_rows, track_rows = await _catalogue(
        conn,
        sorted({a for s in snapshots for a in s["artist_ids"]}),
        sorted({t for s in snapshots for t in s["track_ids"]}),
    )
    artists, tracks = _artist_details(artist_rows), _track_details(track_rows)
    by_user: dict[int, list[TasteProfile]] = defaultdict(list)
    for snap in snapshots:
        by_user[snap["user_id"]].append(
            _snapshot_profile(snap, artists, tracks, guilds_of.get(snap["user_id"], ()))
        )
    return [merge_profiles(by_user[user_id]) for user_id in sorted(by_user)]


async def latest_snapshots(conn: asyncpg.Connection, user_ids: Sequence[int] | None) -> list[asyncpg.Record]:
    """Every member's latest snapshot of each source, by user id then source."""
    return await conn.fetch(
        """SELECT DISTINCT ON (p.user_id, p.source)
                  p.user_id, p.source, p.artist_ids, p.artist_counts, p.track_ids,
                  p.track_counts, coalesce(m.display_name, '') AS display_name
           FROM profiles p JOIN members m USING (user_id)
           WHERE $1::bigint[] IS NULL OR p.user_id = ANY($1::bigint[])
           ORDER BY p.user_id, p.source, p.captured_at DESC""",
        None if user_ids is None else list(user_ids),
    )


@dataclass
class MemberLists:
    """Each member's (merged) ranked ids and playcounts, best first: rank = position."""

    user_ids: list[int] = field(default_factory=list)
    artist_ids: list[Sequence[str]] = field(default_factory=list)
    artist_counts: list[Sequence[int | None] | None] = field(default_factory=list)
    track_ids: list[Sequence[str]] = field(default_factory=list)
    track_counts: list[Sequence[int | None] | None] = field(default_factory=list)


def merged_lists(snapshots: Sequence[asyncpg.Record] | Sequence[Mapping[str, Any]]) -> MemberLists:
    """One entry per member of :func:`latest_snapshots` (records, or their JSON, grouped by user);
    members with several sources are merged by :func:`merge_profiles`, as :func:`load_profiles`
    merges them."""
    out = MemberLists()
    for user_id, group in groupby(snapshots, key=lambda snap: snap["user_id"]):
        found = list(group)
        out.user_ids.append(user_id)
        if len(found) == 1:
            snap = found[0]
            out.artist_ids.append(snap["artist_ids"])
            out.artist_counts.append(snap["artist_counts"])
            out.track_ids.append(snap["track_ids"])
            out.track_counts.append(snap["track_counts"])
            continue
        # Catalogue facts do not take part in the fusion, so bare items merge the same way; the
        # merged lists are ranked 1, 2, … (or are one source's list as it was stored).
        merged = merge_profiles([_bare_profile(snap) for snap in found])
        out.artist_ids.append([a.id for a in merged.artists])
        out.artist_counts.append([a.playcount for a in merged.artists])
        out.track_ids.append([t.id for t in merged.tracks])
        out.track_counts.append([t.playcount for t in merged.tracks])
    return out


def _bare_profile(snap: asyncpg.Record | Mapping[str, Any]) -> TasteProfile:
    artist_counts = snap["artist_counts"] or [None] * len(snap["artist_ids"])
    track_counts = snap["track_counts"] or [None] * len(snap["track_ids"])
    return TasteProfile(
        user_id=snap["user_id"],
        artists=tuple(
            RankedArtist(a, rank, playcount=count)
            for rank, (a, count) in enumerate(zip(snap["artist_ids"], artist_counts, strict=True), 1)
        ),
        tracks=tuple(
            RankedTrack(t, rank, playcount=count)
            for rank, (t, count) in enumerate(zip(snap["track_ids"], track_counts, strict=True), 1)
        ),
        sources=(snap["source"],),
    )


async def _catalogue(
    conn: asyncpg.Connection, artist_ids: Sequence[str], track_ids: Sequence[str]
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Catalogue rows of the given artists (name, genres) and tracks (name, artists, features)."""
    artists = await conn.fetch(
        "SELECT artist_id, name, genres FROM artists WHERE artist_id = ANY($1::text[])", artist_ids,
    )
    tracks = await conn.fetch(
        f"""SELECT t.track_id, t.name, t.artist_ids, f.provider, {_FEATURE_COLUMNS}
            FROM tracks t LEFT JOIN track_features f USING (track_id)
            WHERE t.track_id = ANY($1::text[])""",  # noqa: S608 (constant columns)
        track_ids,
    )
    return artists, tracks


# Per catalogue item, what every member's entry for it shares: converted once per item rather
# than once per member listing it (a 100k-member load has millions of entries).
ArtistDetails = tuple[str, tuple[str, ...]]
TrackDetails = tuple[str, tuple[str, ...], Mapping[str, float] | None]


def _artist_details(rows: Sequence[asyncpg.Record]) -> dict[str, ArtistDetails]:
    return {r["artist_id"]: (r["name"], tuple(r["genres"])) for r in rows}


def _track_details(rows: Sequence[asyncpg.Record]) -> dict[str, TrackDetails]:
    details: dict[str, TrackDetails] = {}
    for row in rows:
        features = None
        if row["provider"] not in (None, "none"):
            known = {f: row[f] for f in AUDIO_FEATURES if row[f] is not None}
            # One dict shared by every member's entry for the track: nobody may mutate it.
            features = known or None
        details[row["track_id"]] = (row["name"], tuple(row["artist_ids"]), features)
    return details


def _snapshot_profile(
    snap: asyncpg.Record,
    artists: dict[str, ArtistDetails],
    tracks: dict[str, TrackDetails],
    guild_ids: tuple[int, ...],
) -> TasteProfile:
    artist_counts = snap["artist_counts"] or [None] * len(snap["artist_ids"])
    track_counts = snap["track_counts"] or [None] * len(snap["track_ids"])
    ranked_artists = []
    for rank, (artist_id, count) in enumerate(zip(snap["artist_ids"], artist_counts, strict=True), 1):
        name, genres = artists.get(artist_id) or (artist_id, ())
        ranked_artists.append(RankedArtist(artist_id, rank, name, count, genres))
    ranked_tracks = []
    for rank, (track_id, count) in enumerate(zip(snap["track_ids"], track_counts, strict=True), 1):
        name, artist_ids, features = tracks.get(track_id) or (track_id, (), None)
        ranked_tracks.append(RankedTrack(track_id, rank, name, artist_ids, count, features))
    return TasteProfile(
        user_id=snap["user_id"],
        artists=tuple(ranked_artists),
        tracks=tuple(ranked_tracks),
        display_name=snap["display_name"],
        guild_ids=guild_ids,
        sources=(snap["source"],),
    )
