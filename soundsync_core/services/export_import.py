"""``/import-history``: a member's Spotify data export becomes their ``spotify_export`` profile.

The export names artists and tracks (the extended history adds track ids, never artist ids),
while other members' profiles use Spotify ids. Names are resolved against the catalogue
SoundSync already has (``artists``/``tracks``), so an export member and an OAuth member who
love the same band share its id; names the catalogue does not know (or knows twice) get a
stable synthetic id ``name:<normalised name>`` (:mod:`soundsync_core.profiles.identity`, the
rule every source shares), so export, Last.fm and ListenBrainz members meet on it.

Only the ranked top lists and their counts are stored — never the raw history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from soundsync_core.profiles.identity import NAME_PREFIX, name_artist_id, name_track_id
from soundsync_core.repositories import accounts, catalogue
from soundsync_core.repositories.profiles import save_profiles
from soundsync_core.sources.base import FileSource
from soundsync_core.sources.spotify_export import ExportHistory, normalise_name, parse_export
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

# A source the member uploads: listed and labelled like any other, never fetched.
SPOTIFY_EXPORT = FileSource("spotify_export", "Spotify data export")
SOURCE = SPOTIFY_EXPORT.name
SYNTHETIC_PREFIX = NAME_PREFIX
TOP_SHOWN = 5
# A parse holds the unpacked history in memory: a few at a time, whatever the queue of uploads.
_PARSES = asyncio.Semaphore(2)


@dataclass(frozen=True)
class ExportImportSummary:
    """What an import stored, for the member's confirmation."""

    kind: str
    artists: int
    tracks: int
    plays_counted: int
    first_play: datetime
    last_play: datetime
    top_artists: tuple[str, ...]
    catalogue_artists: int  # artists matched to ids other members' profiles use


@dataclass
class CatalogueMatch:
    """What the catalogue knows about the export's names."""

    artist_ids: dict[str, str] = field(default_factory=dict)  # normalised name → artist id
    artist_names: dict[str, str] = field(default_factory=dict)  # artist id → catalogue name
    tracks: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # id → name, artists
    track_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (artist id, name) → id


def synthetic_artist_id(name: str) -> str:
    """The id of an artist the catalogue does not know: the same for every member and source."""
    return name_artist_id(name)


def synthetic_track_id(artist_name: str, track_name: str) -> str:
    """The id of a track known by name only (titles alone repeat across artists)."""
    return name_track_id(artist_name, track_name)


async def import_spotify_export(
    pool: asyncpg.Pool,
    user_id: int,
    data: bytes,
    *,
    filename: str = "",
    guild_id: int | None = None,
    display_name: str = "",
    executor: Executor | None = None,
) -> ExportImportSummary:
    """Parse the export off the event loop, resolve its names, store profile and account.

    Raises :class:`~soundsync_core.sources.spotify_export.ExportFormatError` (safe to show) when
    the upload is not usable; nothing is written then. A new import replaces the previous one.
    """
    async with _PARSES:
        loop = asyncio.get_running_loop()
        history = await loop.run_in_executor(executor, parse_export, data, filename)
    async with pool.acquire() as conn, conn.transaction():
        match = await resolve_catalogue(conn, history)
        profile = export_profile(
            user_id, history, match,
            guild_ids=(guild_id,) if guild_id is not None else (), display_name=display_name,
        )
        await save_profiles(conn, [profile], source=SOURCE)
        # An account row (no tokens) so stats and /profile count the source like any other.
        await accounts.set_status(conn, user_id, SOURCE, accounts.ACTIVE)
        await accounts.mark_ingested(
            conn, user_id, SOURCE, f"{history.first_play:%B %Y} – {history.last_play:%B %Y}"
        )
    return _summary(history, profile)


def _summary(history: ExportHistory, profile: TasteProfile) -> ExportImportSummary:
    return ExportImportSummary(
        kind=history.kind,
        artists=len(profile.artists),
        tracks=len(profile.tracks),
        plays_counted=history.plays_counted,
        first_play=history.first_play,
        last_play=history.last_play,
        top_artists=tuple(a.name for a in profile.artists[:TOP_SHOWN]),
        catalogue_artists=sum(not a.id.startswith(SYNTHETIC_PREFIX) for a in profile.artists),
    )


async def resolve_catalogue(conn: asyncpg.Connection, history: ExportHistory) -> CatalogueMatch:
    """Catalogue ids for the export's artists and tracks, where the catalogue is sure."""
    match = CatalogueMatch()
    track_ids = sorted({t.spotify_id for t in history.tracks if t.spotify_id})
    for row in await catalogue.tracks_by_id(conn, track_ids):
        match.tracks[row["track_id"]] = (row["name"], tuple(row["artist_ids"]))
    await _artists_of_known_tracks(conn, history, match)
    wanted = sorted({normalise_name(a.name) for a in history.artists} - match.artist_ids.keys())
    rows = await catalogue.artists_named(conn, wanted)
    _add_unambiguous(match, rows, set(wanted))
    await _tracks_by_name(conn, history, match)
    return match


async def _artists_of_known_tracks(
    conn: asyncpg.Connection, history: ExportHistory, match: CatalogueMatch
) -> None:
    """A known track id names its artists' ids: the surest evidence for an artist's name."""
    artist_ids = sorted({a for _, ids in match.tracks.values() for a in ids})
    names = await catalogue.artist_names(conn, artist_ids)
    for track in history.tracks:
        known = match.tracks.get(track.spotify_id or "")
        wanted = normalise_name(track.artist_name)
        for artist_id in known[1] if known else ():
            name = names.get(artist_id)
            if name is not None and normalise_name(name) == wanted:
                match.artist_ids.setdefault(wanted, artist_id)
                match.artist_names[artist_id] = name


def _add_unambiguous(match: CatalogueMatch, rows: Iterable[asyncpg.Record], wanted: set[str]) -> None:
    """Map each wanted name held by exactly one catalogue artist (two bands may share a name)."""
    by_name: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_name.setdefault(normalise_name(row["name"]), []).append(row)
    for name, found in by_name.items():
        if name in wanted and len(found) == 1:
            match.artist_ids[name] = found[0]["artist_id"]
            match.artist_names[found[0]["artist_id"]] = found[0]["name"]


async def _tracks_by_name(
    conn: asyncpg.Connection, history: ExportHistory, match: CatalogueMatch
) -> None:
    """Catalogue ids for tracks known by name only, when title and artist pin one track."""
    unnamed = [t for t in history.tracks if t.spotify_id is None]
    artist_ids = sorted({match.artist_ids[a] for t in unnamed
                         if (a := normalise_name(t.artist_name)) in match.artist_ids})
    if not artist_ids:
        return
    rows = await catalogue.tracks_named(conn, sorted({normalise_name(t.name) for t in unnamed}), artist_ids)
    candidates: dict[tuple[str, str], list[asyncpg.Record]] = {}
    for row in rows:
        for artist_id in row["artist_ids"]:
            candidates.setdefault((artist_id, normalise_name(row["name"])), []).append(row)
    for key, found in candidates.items():
        if len(found) == 1:
            match.track_ids[key] = found[0]["track_id"]
            match.tracks[found[0]["track_id"]] = (found[0]["name"], tuple(found[0]["artist_ids"]))


def export_profile(
    user_id: int,
    history: ExportHistory,
    match: CatalogueMatch,
    *,
    guild_ids: tuple[int, ...] = (),
    display_name: str = "",
) -> TasteProfile:
    """The member's ``spotify_export`` profile: ranks by listening time, play counts kept."""
    artists: dict[str, RankedArtist] = {}
    for item in history.artists:
        artist_id = _artist_id(match, item.name)
        if artist_id not in artists:
            name = match.artist_names.get(artist_id, item.name)
            artists[artist_id] = RankedArtist(artist_id, len(artists) + 1, name, item.plays)
    tracks: dict[str, RankedTrack] = {}
    for item in history.tracks:
        artist_id = _artist_id(match, item.artist_name)
        track_id = item.spotify_id or match.track_ids.get(
            (artist_id, normalise_name(item.name)), synthetic_track_id(item.artist_name, item.name)
        )
        if track_id not in tracks:
            name, artist_ids = match.tracks.get(track_id, (item.name, (artist_id,)))
            tracks[track_id] = RankedTrack(track_id, len(tracks) + 1, name, artist_ids, item.plays)
    return TasteProfile(
        user_id=user_id,
        artists=tuple(artists.values()),
        tracks=tuple(tracks.values()),
        display_name=display_name,
        guild_ids=guild_ids,
        sources=(SOURCE,),
    )


def _artist_id(match: CatalogueMatch, name: str) -> str:
    return match.artist_ids.get(normalise_name(name)) or synthetic_artist_id(name)
