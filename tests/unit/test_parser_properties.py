"""Arbitrary input thrown at the import parsers: a result or their own error, nothing else.

Whatever a parser accepts must be storable as it is: text PostgreSQL takes, numbers within the
columns' ranges, lengths within the documented limits.
"""

from __future__ import annotations

import io
import json
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soundsync_core.db.text import storable
from soundsync_core.profiles import jsonl
from soundsync_core.profiles.jsonl import ProfileFormatError, parse_profile_line
from soundsync_core.snowflakes import SNOWFLAKE_MAX
from soundsync_core.sources import spotify_export
from soundsync_core.sources.spotify_export import ExportFormatError, ExportHistory, parse_export
from soundsync_core.taste.profile import TasteProfile
from tests.import_strategies import documents, json_values, records

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse(line: str | bytes) -> TasteProfile | None:
    try:
        return parse_profile_line(line)
    except ProfileFormatError as exc:
        message = str(exc)
    assert message
    assert "\n" not in message
    return None


def _assert_storable(profile: TasteProfile) -> None:
    assert 0 < profile.user_id <= SNOWFLAKE_MAX
    assert all(0 < g <= SNOWFLAKE_MAX for g in profile.guild_ids)
    assert storable(profile.display_name)
    assert len(profile.display_name) <= jsonl.MAX_DISPLAY_NAME_CHARS
    for item in (*profile.artists, *profile.tracks):
        assert storable(item.id)
        assert 0 < len(item.id) <= jsonl.MAX_ID_CHARS
        assert storable(item.name)
        assert len(item.name) <= jsonl.MAX_NAME_CHARS
        assert 1 <= item.rank <= jsonl.INT32_MAX
        assert item.playcount is None or 0 <= item.playcount <= jsonl.INT32_MAX
    for artist in profile.artists:
        assert all(storable(g) and len(g) <= jsonl.MAX_GENRE_CHARS for g in artist.genres)
    for track in profile.tracks:
        assert all(storable(a) and len(a) <= jsonl.MAX_ID_CHARS for a in track.artist_ids)
        for value in (track.audio_features or {}).values():
            assert -jsonl.FLOAT32_MAX <= value <= jsonl.FLOAT32_MAX


@QUICK
@given(value=json_values | records, ascii_only=st.booleans())
def test_any_json_value_is_a_profile_or_one_format_error(value: object, ascii_only: bool) -> None:
    profile = _parse(json.dumps(value, ensure_ascii=ascii_only))
    if profile is not None:
        _assert_storable(profile)


@QUICK
@given(raw=st.binary(max_size=200) | records.map(lambda r: json.dumps(r, ensure_ascii=False)
                                                 .encode("utf-8", "surrogatepass")))
def test_any_bytes_are_a_profile_or_one_format_error(raw: bytes) -> None:
    profile = _parse(raw)
    if profile is not None:
        _assert_storable(profile)


@QUICK
@given(raw=st.binary(max_size=300))
def test_any_file_reads_as_lines_or_one_format_error(raw: bytes) -> None:
    try:
        lines = list(jsonl.read_lines(io.BufferedReader(io.BytesIO(raw))))
    except ProfileFormatError:
        return
    assert b"".join(lines) in (raw, raw.removeprefix(b"\xef\xbb\xbf"))
    for line in lines:
        _parse(line)


# --- the Spotify data export -------------------------------------------------------------------


def _zip(name: str, body: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, body)
    return buffer.getvalue()


def _assert_export_or_error(data: bytes) -> None:
    try:
        history = parse_export(data, "Streaming_History_Audio_2024.json")
    except ExportFormatError as exc:
        message = str(exc)
    else:
        _assert_export_storable(history)
        return
    assert message


def _assert_export_storable(history: ExportHistory) -> None:
    for name in [a.name for a in history.artists] + [t.name for t in history.tracks]:
        assert storable(name)
        assert 0 < len(name) <= spotify_export.MAX_NAME_CHARS


@QUICK
@given(document=documents)
def test_any_json_history_is_an_export_or_one_format_error(document: object) -> None:
    _assert_export_or_error(json.dumps(document).encode())


@QUICK
@given(raw=st.binary(max_size=300), zipped=st.booleans(), flip=st.integers(0, 400))
def test_any_bytes_or_damaged_zip_are_an_export_or_one_format_error(
    raw: bytes, zipped: bool, flip: int
) -> None:
    data = bytearray(_zip("Streaming_History_Audio_2024.json", raw) if zipped else raw)
    if zipped and flip < len(data):
        data[flip] ^= 0xFF
    _assert_export_or_error(bytes(data))
