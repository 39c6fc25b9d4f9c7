"""The fakes of Last.fm and ListenBrainz answer in the shape of recorded real answers.

The recordings and where they come from: ``tests/fixtures/*/SOURCES.md``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from soundsync_fakes.lastfm import FakeArtist, FakeLastfm, FakeTrack
from soundsync_fakes.listenbrainz import FakeListen, FakeListenBrainz
from tests.json_shapes import differences, merge, shape

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
UTADA = "b539e453-c4fe-47e3-8a07-8517eac74429"
MGK = "f6af669a-56ea-448a-a044-de76181ada33"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def assert_same_shape(recordings: str | list[str], answer: Any) -> None:
    """``answer`` has the shape of the recordings of one endpoint (merged: a field that holds
    a user name is a plain string in one and digits in another)."""
    names = [recordings] if isinstance(recordings, str) else recordings
    merged = None
    for name in names:
        merged = merge(merged, shape(recorded(name)))
    assert merged is not None
    assert differences(merged, shape(answer)) == []


# --- the comparison itself ------------------------------------------------------------------


def test_shapes_tell_numbers_from_numeric_strings() -> None:
    assert differences(shape({"playcount": "12"}), shape({"playcount": 12})) == [
        "$.playcount: ['number'] where the recording has ['numeric-string']"
    ]


def test_shapes_tell_a_list_from_a_lone_object() -> None:
    listed = shape({"tag": [{"name": "rock"}, {"name": "pop"}]})
    assert differences(listed, shape({"tag": {"name": "rock"}})) == [
        "$.tag: ['object'] where the recording has ['list']"
    ]


def test_shapes_report_missing_and_extra_keys_inside_lists() -> None:
    found = differences(shape({"a": [{"x": 1, "y": "s"}]}), shape({"a": [{"x": 2, "z": None}]}))
    assert found == ["$.a[].y: missing", "$.a[].z: not in the recording"]


def test_a_fake_may_leave_out_nulls_the_recording_shows() -> None:
    recording = shape({"items": [{"mbid": "m"}, {"mbid": None}]})
    assert differences(recording, shape({"items": [{"mbid": "m"}]})) == []
    assert differences(shape({"items": [{"mbid": "m"}]}), shape({"items": [{"mbid": None}]})) != []


# --- Last.fm --------------------------------------------------------------------------------


@pytest.fixture
async def lastfm() -> AsyncIterator[FakeLastfm]:
    async with FakeLastfm() as fake:
        fake.add_user(
            "aidan-",
            [FakeArtist("Queen", 1511, "5eecaf18-02ec-47af-a4f2-7831db373419"),
             FakeArtist("宇多田ヒカル", 6, UTADA), FakeArtist("Jasmine", 2)],
            [FakeTrack("Love Will Tear Us Apart", "Joy Division", 440,
                       "00046764-a84c-3568-b8b1-6a8174f7ca0b", "9a58fda3-f4ed-4080-a3a5-f457aac9fcdd", 205),
             FakeTrack("秘密", "张震岳", 2)],
        )
        fake.add_tags("Audioslave", [("rock", 100), ("alternative rock", 78), ("Grunge", 41)])
        yield fake


async def lastfm_call(fake: FakeLastfm, **params: Any) -> Any:
    form = {"api_key": fake.state.api_key, "format": "json", **params}
    async with aiohttp.ClientSession() as http, http.post(f"{fake.api_url}/", data=form) as answer:
        return await answer.json(content_type=None)


async def test_fake_top_artists_look_recorded(lastfm: FakeLastfm) -> None:
    answer = await lastfm_call(lastfm, method="user.getTopArtists", user="aidan-", period="12month")
    assert_same_shape(["lastfm/user.getTopArtists.json", "lastfm/user.getTopArtists.cjk.json"], answer)


async def test_fake_top_tracks_look_recorded(lastfm: FakeLastfm) -> None:
    answer = await lastfm_call(lastfm, method="user.getTopTracks", user="aidan-", period="overall")
    assert_same_shape(["lastfm/user.getTopTracks.json", "lastfm/user.getTopTracks.cjk.json"], answer)


async def test_fake_top_tags_look_recorded(lastfm: FakeLastfm) -> None:
    answer = await lastfm_call(lastfm, method="artist.getTopTags", artist="Audioslave")
    assert_same_shape("lastfm/artist.getTopTags.json", answer)


async def test_fake_errors_look_recorded(lastfm: FakeLastfm) -> None:
    answer = await lastfm_call(lastfm, method="artist.getTopTags", artist="Nobody Knows Them")
    assert_same_shape("lastfm/error.artist_not_found.json", answer)
    assert answer == recorded("lastfm/error.artist_not_found.json")
    unknown = await lastfm_call(lastfm, method="user.getTopArtists", user="no-such-user")
    assert_same_shape("lastfm/error.artist_not_found.json", unknown)


async def test_fake_sends_one_element_lists_as_an_object(lastfm: FakeLastfm) -> None:
    lastfm.add_user("solo", [FakeArtist("Queen", 3)])
    answer = await lastfm_call(lastfm, method="user.getTopArtists", user="solo")
    assert isinstance(answer["topartists"]["artist"], dict)


# --- ListenBrainz ---------------------------------------------------------------------------


@pytest.fixture
async def listenbrainz() -> AsyncIterator[FakeListenBrainz]:
    async with FakeListenBrainz() as fake:
        fake.add_user("akshaaatt", token="a-user-token")
        fake.set_stats("akshaaatt", "artists", "all_time", [
            FakeListen("mgk", 3762, MGK), FakeListen("Sanam Malik, ANA", 419),
        ])
        fake.set_stats("akshaaatt", "recordings", "all_time", [
            FakeListen("Machine Gun Kelly", 277, MGK, "concert for aliens",
                       "4c989c32-51a3-489a-965a-bb334def31a8", "Tickets to My Downfall"),
            FakeListen("Sanam Malik, ANA", 419, title="Jaane Kaise", release="Jaane Kaise"),
        ])
        yield fake


async def listenbrainz_get(fake: FakeListenBrainz, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{fake.api_url}{path}", **kwargs) as answer:
        return answer.status, await answer.json(content_type=None)


@pytest.mark.parametrize("entity", ["artists", "recordings"])
async def test_fake_statistics_look_recorded(listenbrainz: FakeListenBrainz, entity: str) -> None:
    status, answer = await listenbrainz_get(
        listenbrainz, f"/stats/user/akshaaatt/{entity}", params={"range": "all_time"}
    )
    assert status == 200
    assert_same_shape(f"listenbrainz/stats.user.{entity}.json", answer)


async def test_fake_unknown_user_looks_recorded(listenbrainz: FakeListenBrainz) -> None:
    status, answer = await listenbrainz_get(listenbrainz, "/stats/user/nobody/artists")
    assert status == 404
    assert_same_shape("listenbrainz/error.user_not_found.json", answer)


@pytest.mark.parametrize(("token", "recording"), [
    ("a-user-token", "listenbrainz/validate-token.valid.json"),
    ("someone-elses-guess", "listenbrainz/validate-token.invalid.json"),
])
async def test_fake_validate_token_looks_documented(
    listenbrainz: FakeListenBrainz, token: str, recording: str
) -> None:
    status, answer = await listenbrainz_get(
        listenbrainz, "/validate-token", headers={"Authorization": f"Token {token}"}
    )
    assert status == 200
    assert_same_shape(recording, answer)
