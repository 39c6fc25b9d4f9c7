"""Spotify data export parsing: both history formats, ZIP and JSON, the 30-s rule, the window,
ranking by listening time, and every way an upload can be refused."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from soundsync_core.sources import spotify_export
from soundsync_core.sources.spotify_export import (
    ExportFormatError,
    check_export_size,
    normalise_name,
    parse_export,
)

MINUTE = 60_000
NEWEST = datetime(2024, 6, 20, 18, 0, tzinfo=UTC)


def account_play(artist: str, track: str, ms: int, at: datetime = NEWEST) -> dict[str, Any]:
    """A record of the account-data history (StreamingHistory_music_N.json)."""
    return {"endTime": at.strftime("%Y-%m-%d %H:%M"), "artistName": artist, "trackName": track,
            "msPlayed": ms}


def extended_play(
    artist: str | None, track: str | None, ms: int, at: datetime = NEWEST, *,
    track_id: str | None = None, **extra: Any,
) -> dict[str, Any]:
    """A record of the extended history (Streaming_History_Audio_*.json)."""
    return {
        "ts": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "linux", "ms_played": ms,
        "conn_country": "DE", "master_metadata_track_name": track,
        "master_metadata_album_artist_name": artist, "master_metadata_album_album_name": "LP",
        "spotify_track_uri": f"spotify:track:{track_id}" if track_id else None,
        "episode_name": None, "reason_start": "trackdone", "reason_end": "trackdone",
        "shuffle": False, "skipped": ms < 30_000, "offline": False, "incognito_mode": False,
        **extra,
    }


def as_json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps(records).encode()


def as_zip(files: dict[str, bytes | list[dict[str, Any]]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content if isinstance(content, bytes) else as_json(content))
    return buffer.getvalue()


def track_id(n: int) -> str:
    return f"{n:022d}"


# -- reading both formats ---------------------------------------------------------------------


def test_account_data_json_ranks_artists_by_listening_time_not_play_count() -> None:
    records = [account_play("Many Short", f"s{i}", MINUTE) for i in range(5)]
    records += [account_play("Few Long", "epic", 4 * MINUTE) for _ in range(2)]
    history = parse_export(as_json(records), "StreamingHistory_music_0.json")
    assert history.kind == spotify_export.ACCOUNT
    assert [(a.name, a.ms_played, a.plays) for a in history.artists] == [
        ("Few Long", 8 * MINUTE, 2), ("Many Short", 5 * MINUTE, 5),
    ]
    assert history.tracks[0].name == "epic"
    assert history.tracks[0].spotify_id is None
    assert history.plays_counted == 7


def test_plays_shorter_than_30_seconds_are_not_counted() -> None:
    records = [account_play("Skipped", "x", 29_999) for _ in range(50)]
    records += [account_play("Heard", "y", 30_000)]
    history = parse_export(as_json(records))
    assert [a.name for a in history.artists] == ["Heard"]
    assert history.plays_counted == 1


def test_extended_history_gives_track_ids_and_skips_podcasts_and_private_sessions() -> None:
    records = [
        extended_play("Radiohead", "Reckoner", 4 * MINUTE, track_id=track_id(1)),
        extended_play("Radiohead", "Reckoner", 3 * MINUTE, track_id=track_id(1)),
        extended_play("Björk", "Jóga", 5 * MINUTE, track_id=track_id(2), incognito_mode=True),
        extended_play(None, None, 30 * MINUTE, episode_name="A podcast"),
    ]
    history = parse_export(as_zip({"Spotify Extended Streaming History/"
                                   "Streaming_History_Audio_2023-2024_0.json": records}))
    assert history.kind == spotify_export.EXTENDED
    assert [(t.name, t.spotify_id, t.plays) for t in history.tracks] == [
        ("Reckoner", track_id(1), 2),
    ]
    assert [a.name for a in history.artists] == ["Radiohead"]


def test_artist_spellings_are_one_artist() -> None:
    records = [account_play("Boards of Canada", "Roygbiv", 2 * MINUTE),
               account_play("boards  of canada ", "Dayvan Cowboy", 3 * MINUTE)]
    history = parse_export(as_json(records))
    [artist] = history.artists
    assert (artist.name, artist.plays) == ("Boards of Canada", 2)
    assert normalise_name(" Boards\tOF  Canada ") == "boards of canada"


def test_only_the_last_twelve_months_of_the_data_count() -> None:
    old = NEWEST - timedelta(days=400)
    records = [account_play("Old Favourite", "then", 60 * MINUTE, old) for _ in range(10)]
    records += [account_play("Now", "now", MINUTE, NEWEST)]
    history = parse_export(as_json(records))
    assert [a.name for a in history.artists] == ["Now"]
    assert history.first_play == history.last_play == NEWEST


def test_top_lists_are_capped_at_150() -> None:
    records = [account_play(f"artist {i}", f"track {i}", MINUTE + i) for i in range(200)]
    history = parse_export(as_json(records))
    assert len(history.artists) == spotify_export.TOP_ARTISTS == 150
    assert len(history.tracks) == spotify_export.TOP_TRACKS == 150
    assert history.artists[0].name == "artist 199"


def test_zip_reads_only_history_files_and_prefers_the_extended_history() -> None:
    export = as_zip({
        "Spotify Account Data/Userdata.json": b'{"username": "secret"}',
        "Spotify Account Data/StreamingHistory_podcast_0.json": [account_play("Pod", "ep", MINUTE)],
        "Spotify Account Data/StreamingHistory_music_0.json": [account_play("Account", "a", MINUTE)],
        "Spotify Extended Streaming History/Streaming_History_Video_2024.json":
            [extended_play("Video", "v", MINUTE)],
        "Spotify Extended Streaming History/endsong_0.json":
            [extended_play("Extended", "e", MINUTE, track_id=track_id(3))],
        "__MACOSX/Spotify Account Data/._StreamingHistory_music_0.json": b"\x00\x05junk",
    })
    history = parse_export(export)
    assert [a.name for a in history.artists] == ["Extended"]


def test_account_data_zip_with_several_files_and_old_file_names() -> None:
    export = as_zip({
        "MyData/StreamingHistory_music_0.json": [account_play("A", "a", 2 * MINUTE)],
        "MyData/StreamingHistory_music_1.json": [account_play("B", "b", 3 * MINUTE)],
        "MyData/StreamingHistory2.json": [account_play("A", "a", 2 * MINUTE)],
    })
    history = parse_export(export)
    assert [(a.name, a.ms_played) for a in history.artists] == [("A", 4 * MINUTE), ("B", 3 * MINUTE)]


def test_json_with_a_byte_order_mark_is_read() -> None:
    history = parse_export(b"\xef\xbb\xbf" + as_json([account_play("A", "a", MINUTE)]))
    assert history.artists[0].name == "A"


# -- refusals ---------------------------------------------------------------------------------


def refusal(data: bytes, filename: str = "") -> str:
    with pytest.raises(ExportFormatError) as caught:
        parse_export(data, filename)
    return str(caught.value)


def test_neither_zip_nor_json_is_refused() -> None:
    assert "not a Spotify data export" in refusal(b"%PDF-1.7 not an export")


def test_empty_file_is_refused() -> None:
    assert "empty" in refusal(b"")


def test_too_big_is_refused_before_reading() -> None:
    with pytest.raises(ExportFormatError, match="up to 25 MB"):
        check_export_size(spotify_export.MAX_EXPORT_BYTES + 1)
    check_export_size(spotify_export.MAX_EXPORT_BYTES)


def test_zip_without_history_files_says_what_to_request() -> None:
    message = refusal(as_zip({"Spotify Account Data/Userdata.json": b"{}"}))
    assert "no listening history" in message
    assert "Extended streaming history" in message


def test_path_traversal_names_are_refused() -> None:
    for name in ("../StreamingHistory_music_0.json", "/etc/StreamingHistory0.json",
                 "a/../../endsong_0.json", "C:/endsong_0.json"):
        export = as_zip({name: [account_play("A", "a", MINUTE)]})
        assert "unsafe file paths" in refusal(export), name


def test_zip_bomb_is_stopped_by_what_actually_inflates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spotify_export, "MAX_UNPACKED_BYTES", 100_000)
    padding = b"[" + b" " * 200_000 + b"]"  # compresses to a few hundred bytes
    export = as_zip({"StreamingHistory_music_0.json": padding})
    assert len(export) < 2_000
    assert "unpacks to more than" in refusal(export)


def test_one_oversized_history_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spotify_export, "MAX_FILE_BYTES", 50_000)
    export = as_zip({"endsong_0.json": b"[" + b" " * 60_000 + b"]"})
    assert "endsong_0.json unpacks to more than" in refusal(export)


def test_too_many_zip_members_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spotify_export, "MAX_ZIP_MEMBERS", 3)
    export = as_zip({f"f{i}.txt": b"x" for i in range(4)})
    assert "holds 4 files" in refusal(export)


def test_damaged_zip_and_invalid_json_are_refused() -> None:
    assert "damaged" in refusal(b"PK\x03\x04" + b"\x00" * 100)
    message = refusal(as_zip({"StreamingHistory_music_0.json": b'[{"endTime": '}))
    assert "StreamingHistory_music_0.json is not valid JSON" in message
    assert "mine.json is not valid JSON (line 2)" in refusal(b'[\n {"endTime": }\n]', "mine.json")


def test_other_json_files_are_refused() -> None:
    assert "is not a Spotify streaming history" in refusal(b'{"username": "x"}', "Userdata.json")
    assert "is not a Spotify streaming history" in refusal(b'[{"searchQuery": "x"}]', "SearchQueries.json")
    assert "is not a Spotify streaming history" in refusal(b"[1, 2]", "numbers.json")


def test_history_without_counted_plays_is_refused() -> None:
    assert "No music plays of 30 seconds" in refusal(b"[]")
    assert "No music plays of 30 seconds" in refusal(as_json([account_play("A", "a", 1000)]))
