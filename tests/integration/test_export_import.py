"""Importing a Spotify data export against a real PostgreSQL: names resolved through the
catalogue, synthetic ids otherwise, the account row, and the merge with a Spotify profile."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from soundsync_core.repositories.profiles import load_profiles, save_profiles
from soundsync_core.services.export_import import import_spotify_export
from soundsync_core.sources.spotify_export import ExportFormatError
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

MEMBER = 4242
OAUTH_MEMBER = 5151
GUILD = 77
MINUTE = 60_000
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RECKONER_ID = "2zYzyRzz6pRmhPzyfMEC8s"


def account_history(plays: list[tuple[str, str, int]]) -> bytes:
    """StreamingHistory_music_0.json records, one a minute apart."""
    records = [
        {"endTime": (WHEN + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M"),
         "artistName": artist, "trackName": track, "msPlayed": ms}
        for i, (artist, track, ms) in enumerate(plays)
    ]
    return json.dumps(records).encode()


def extended_zip(plays: list[tuple[str, str, str | None, int]]) -> bytes:
    records: list[dict[str, Any]] = [
        {"ts": (WHEN + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "ms_played": ms,
         "master_metadata_track_name": track, "master_metadata_album_artist_name": artist,
         "spotify_track_uri": f"spotify:track:{track_id}" if track_id else None,
         "skipped": False, "incognito_mode": False}
        for i, (artist, track, track_id, ms) in enumerate(plays)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Spotify Extended Streaming History/Streaming_History_Audio_2024_0.json",
                         json.dumps(records))
    return buffer.getvalue()


async def seed_catalogue(pool: asyncpg.Pool) -> None:
    """An OAuth member whose profile put Radiohead, two 'Nirvana's and Reckoner in the catalogue."""
    profile = TasteProfile(
        user_id=OAUTH_MEMBER,
        artists=(
            RankedArtist("4Z8W4fKeB5YxbusRsdQVPb", 1, "Radiohead", genres=("art rock",)),
            RankedArtist("6olE6TJLqED3rqDCT0FyPh", 2, "Nirvana"),
            RankedArtist("1MzSTIKM7zSPcrBvdFL6XK", 3, "NIRVANA"),  # the 60s British band
        ),
        tracks=(RankedTrack(RECKONER_ID, 1, "Reckoner", ("4Z8W4fKeB5YxbusRsdQVPb",)),),
        display_name="oauth",
        guild_ids=(GUILD,),
    )
    async with pool.acquire() as conn:
        await save_profiles(conn, [profile], source="spotify")


async def profile_of(pool: asyncpg.Pool, user_id: int) -> TasteProfile:
    async with pool.acquire() as conn:
        [profile] = await load_profiles(conn, [user_id])
    return profile


async def test_known_names_get_catalogue_ids_unknown_or_ambiguous_get_synthetic_ids(
    pool: asyncpg.Pool,
) -> None:
    await seed_catalogue(pool)
    history = account_history([
        ("radiohead", "Reckoner", 5 * MINUTE),
        ("Nirvana", "Lithium", 4 * MINUTE),
        ("Sault", "Wildfires", 3 * MINUTE),
        ("Sault", "Wildfires", 20_000),  # under 30 s: not counted
    ])
    summary = await import_spotify_export(pool, MEMBER, history, guild_id=GUILD, display_name="Ivy")
    assert (summary.artists, summary.tracks, summary.plays_counted) == (3, 3, 3)
    assert summary.top_artists == ("Radiohead", "Nirvana", "Sault")
    assert summary.catalogue_artists == 1
    profile = await profile_of(pool, MEMBER)
    assert [(a.id, a.playcount) for a in profile.artists] == [
        ("4Z8W4fKeB5YxbusRsdQVPb", 1), ("name:nirvana", 1), ("name:sault", 1),
    ]
    # Title + resolved artist pin the catalogue's Reckoner even without a track URI.
    assert [t.id for t in profile.tracks] == [RECKONER_ID, "name:nirvana — lithium", "name:sault — wildfires"]
    assert profile.artists[0].genres == ("art rock",)  # the catalogue row kept its genres
    assert profile.guild_ids == (GUILD,)
    assert profile.sources == ("spotify_export",)


async def test_track_uris_identify_tracks_and_through_them_ambiguous_artists(pool: asyncpg.Pool) -> None:
    await seed_catalogue(pool)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO tracks (track_id, name, artist_ids) VALUES ('0000000000000000000001', "
            "'Smells Like Teen Spirit', ARRAY['6olE6TJLqED3rqDCT0FyPh'])"
        )
    export = extended_zip([
        ("Nirvana", "Smells Like Teen Spirit", "0000000000000000000001", 5 * MINUTE),
        ("Unknown Band", "First Song", "0000000000000000000002", 4 * MINUTE),
    ])
    await import_spotify_export(pool, MEMBER, export)
    profile = await profile_of(pool, MEMBER)
    assert [a.id for a in profile.artists] == ["6olE6TJLqED3rqDCT0FyPh", "name:unknown band"]
    assert [t.id for t in profile.tracks] == ["0000000000000000000001", "0000000000000000000002"]
    assert profile.tracks[1].artist_ids == ("name:unknown band",)


async def test_merges_with_the_members_spotify_profile_and_counts_as_an_account(pool: asyncpg.Pool) -> None:
    await seed_catalogue(pool)
    await import_spotify_export(pool, OAUTH_MEMBER, account_history([
        ("Sault", "Wildfires", 9 * MINUTE), ("Radiohead", "Nude", 3 * MINUTE),
    ]))
    profile = await profile_of(pool, OAUTH_MEMBER)
    assert profile.sources == ("spotify", "spotify_export")
    ids = [a.id for a in profile.artists]
    assert ids[0] == "4Z8W4fKeB5YxbusRsdQVPb"  # first in both sources: fused to the top
    assert set(ids) == {"4Z8W4fKeB5YxbusRsdQVPb", "6olE6TJLqED3rqDCT0FyPh",
                        "1MzSTIKM7zSPcrBvdFL6XK", "name:sault"}
    row = await pool.fetchrow(
        "SELECT status, external_name, last_ingested_at FROM accounts "
        "WHERE user_id = $1 AND source = 'spotify_export'", OAUTH_MEMBER,
    )
    assert (row["status"], row["external_name"]) == ("active", None)
    assert row["last_ingested_at"] is not None


async def test_a_new_import_replaces_the_previous_one_and_a_bad_file_writes_nothing(
    pool: asyncpg.Pool,
) -> None:
    await import_spotify_export(pool, MEMBER, account_history([("Sault", "Wildfires", MINUTE)]))
    await import_spotify_export(pool, MEMBER, account_history([("Khruangbin", "Maria", MINUTE)]))
    assert [a.id for a in (await profile_of(pool, MEMBER)).artists] == ["name:khruangbin"]
    with pytest.raises(ExportFormatError):
        await import_spotify_export(pool, MEMBER + 1, b"not an export")
    assert await pool.fetchval("SELECT count(*) FROM members WHERE user_id = $1", MEMBER + 1) == 0


async def test_synthetic_ids_are_shared_between_export_members(pool: asyncpg.Pool) -> None:
    await import_spotify_export(pool, MEMBER, account_history([("Sault", "Wildfires", MINUTE)]))
    await import_spotify_export(pool, MEMBER + 1, account_history([(" SAULT", "wildfires ", MINUTE)]))
    first, second = await profile_of(pool, MEMBER), await profile_of(pool, MEMBER + 1)
    assert first.artists[0].id == second.artists[0].id == "name:sault"
    assert first.tracks[0].id == second.tracks[0].id
    # Once a Spotify member brings the real artist, later imports use its id: the synthetic
    # row of the same name does not make the name ambiguous.
    await pool.execute("INSERT INTO artists (artist_id, name) VALUES ('1hjVzTpPD7h5YODZHhcTZJ', 'Sault')")
    await import_spotify_export(pool, MEMBER + 2, account_history([("Sault", "Wildfires", MINUTE)]))
    assert (await profile_of(pool, MEMBER + 2)).artists[0].id == "1hjVzTpPD7h5YODZHhcTZJ"
