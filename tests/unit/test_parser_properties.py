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

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
           | st.sampled_from(["1", "0", "-1", "a\x00b", "\ud800", "9" * 30, "x" * 600]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def mostly(valid: st.SearchStrategy, junk: st.SearchStrategy) -> st.SearchStrategy:
    """Valid values three times in four, so the checks behind a field are reached too."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: valid if ok else junk)


# Nearly right records: the right keys, mostly right values, and anything now and then.
ids = mostly(st.text(min_size=1, max_size=12),
             st.sampled_from(["", " ", "x" * 201, "a\x00", "\udfff"]) | json_values)
names = mostly(st.text(max_size=12), st.sampled_from(["n" * 501, "\x00", "\ud800x"]) | json_values)
numbers = mostly(st.integers(0, 10_000),
                 st.integers() | st.floats() | st.sampled_from([2**31, 10**400, 1e308, -1e39]))
features = st.dictionaries(st.sampled_from(["energy", "loudness", "tempo", "key"]),
                           mostly(st.floats(-60, 250), numbers | json_values))


@st.composite
def ranked(draw: st.DrawFn, extra: dict[str, st.SearchStrategy]) -> list[dict]:
    count = draw(st.integers(0, 4))
    ranks = draw(mostly(st.permutations(range(1, count + 1)), st.lists(numbers, min_size=count,
                                                                       max_size=count)))
    optional = st.fixed_dictionaries({}, optional={"name": names, "playcount": numbers, **extra})
    return [{"id": draw(ids), "rank": rank, **draw(optional)} for rank in ranks]


snowflakes = mostly(st.integers(1, 2**63 - 1).map(str),
                    st.integers().map(str) | st.just(str(2**63)) | json_values)
records = st.fixed_dictionaries(
    {"user_id": snowflakes,
     "top_artists": mostly(ranked({"genres": st.lists(names, max_size=3)}), json_values)},
    optional={
        "display_name": names,
        "guild_ids": mostly(st.lists(snowflakes, max_size=3), json_values),
        "top_tracks": mostly(ranked({"artist_ids": st.lists(ids, max_size=3),
                                     "audio_features": mostly(features, json_values)}),
                             json_values),
    },
)


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

times = mostly(st.datetimes().map(lambda t: t.isoformat() + "Z"),
               st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "x"])
               | scalars)
plays = st.fixed_dictionaries(
    {"ts": times, "ms_played": mostly(st.integers(30_000, 600_000), st.integers() | scalars)},
    optional={"master_metadata_album_artist_name": names, "master_metadata_track_name": names,
              "spotify_track_uri": mostly(st.just("spotify:track:" + "a" * 22), scalars),
              "incognito_mode": st.booleans()},
)
account_plays = st.fixed_dictionaries(
    {"endTime": mostly(st.datetimes().map(lambda t: t.strftime("%Y-%m-%d %H:%M")), scalars),
     "msPlayed": mostly(st.integers(30_000, 600_000), st.integers() | scalars),
     "artistName": names, "trackName": names},
)
documents = mostly(st.lists(mostly(plays | account_plays, json_values), max_size=6), json_values)


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
