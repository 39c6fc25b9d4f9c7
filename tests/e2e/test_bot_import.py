"""/import-history through the real bot: a file attached in the fake Discord, downloaded from its
URL, stored as the member's spotify_export profile, and scored live by /matches."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import discord
import pytest

from soundsync_core.repositories import app_state
from soundsync_core.services import members
from soundsync_core.sources import spotify_export
from tests.e2e.bot_fixtures import JAZZ, Running, running_soundsync  # noqa: F401

START = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)


def jazz_export() -> bytes:
    """An account-data ZIP: mostly the seeded jazz artists, by name only (no ids)."""
    plays = [(name, f"{name} Song", (8 - i) * 60_000) for i, name in enumerate(JAZZ[:6])]
    plays.append(("Coltrane", "Skipped Tune", 10_000))
    records = [
        {"endTime": (START + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M"),
         "artistName": artist, "trackName": track, "msPlayed": ms}
        for n, (artist, track, ms) in enumerate(plays)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Spotify Account Data/StreamingHistory_music_0.json", json.dumps(records))
        archive.writestr("Spotify Account Data/Userdata.json", json.dumps({"username": "dee"}))
    return buffer.getvalue()


async def test_import_stores_the_profile_and_matches_work_right_away(sync: Running) -> None:
    await sync.seed(with_extras=False)
    dee = sync.extras["dee"]
    upload = sync.fake.upload("my_spotify_data.zip", jazz_export(), "application/zip")
    answer = await sync.answer(await sync.command(dee, "import-history", {"file": upload}))
    assert answer.ephemeral
    [embed] = answer.embeds
    assert embed["title"] == "Listening history imported"
    assert "/matches" in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Top artists"].splitlines() == [f"{i}. {n}" for i, n in enumerate(JAZZ[:5], 1)]
    assert fields["Counted"].startswith("6 plays of 30 s or more")
    row = await sync.pool.fetchrow(
        "SELECT artist_ids, artist_counts FROM profiles WHERE user_id = $1 AND source = 'spotify_export'",
        dee.id,
    )
    # The seeded catalogue knows these names: the export shares the OAuth members' ids.
    assert row["artist_ids"] == [name.lower() for name in JAZZ[:6]]
    assert row["artist_counts"] == [1] * 6
    assert await sync.pool.fetchval(
        "SELECT count(*) FROM guild_members WHERE guild_id = $1 AND user_id = $2", sync.guild_id, dee.id
    ) == 1

    page = await sync.answer(await sync.command(dee, "matches"))
    [match] = page.embeds
    assert match["title"].endswith("% match")
    assert match["title"].split(" — ")[0] in {"Bob", "Cyd"}  # the jazz fans, not the metal admin
    assert "Coltrane" in match["fields"][0]["value"]


async def test_a_file_that_is_no_export_is_refused_plainly(sync: Running) -> None:
    dee = sync.extras["dee"]
    upload = sync.fake.upload("holiday.txt", b"not a spotify export at all", "text/plain")
    answer = await sync.answer(await sync.command(dee, "import-history", {"file": upload}))
    assert answer.ephemeral
    assert "not a Spotify data export" in answer.content
    assert (await sync.next_failure()).expected
    assert await sync.pool.fetchval("SELECT count(*) FROM members WHERE user_id = $1", dee.id) == 0


async def test_too_big_a_file_is_refused_without_downloading_it(
    sync: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads: list[str] = []

    async def read(self: discord.Attachment, **_: object) -> bytes:
        downloads.append(self.filename)
        return b""

    monkeypatch.setattr(discord.Attachment, "read", read)
    monkeypatch.setattr(spotify_export, "MAX_EXPORT_BYTES", 1024 * 1024)
    upload = sync.fake.upload("my_spotify_data.zip", b"PK\x03\x04" + bytes(1024 * 1024), "application/zip")
    answer = await sync.answer(await sync.command(sync.extras["eve"], "import-history", {"file": upload}))
    assert "SoundSync reads exports up to 1 MB" in answer.content
    assert downloads == []
    assert (await sync.next_failure()).expected


async def test_link_in_development_mode_points_to_the_import(sync: Running) -> None:
    await app_state.set_fact(sync.pool, members.SPOTIFY_APP_MODE, "development")
    answer = await sync.answer(await sync.command(sync.world.member, "link"))
    assert "/import-history" in answer.content
