"""The Last.fm client and source against the fake Last.fm on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from soundsync_core.sources.artist_tags import MemoryTagCache
from soundsync_core.sources.base import EXPIRED, Credentials, LinkedAccount, SourceNotReady
from soundsync_core.sources.lastfm import LastfmSource
from soundsync_core.sources.lastfm_client import LastfmClient, auth_page_url
from soundsync_core.sources.lastfm_errors import (
    LastfmApiKeyRejected,
    LastfmPrivateProfile,
    LastfmRateLimited,
    LastfmSessionInvalid,
    LastfmSignatureInvalid,
    LastfmTokenInvalid,
    LastfmUnavailable,
    LastfmUnknownUser,
)
from soundsync_core.sources.pacing import Pacer, user_agent
from soundsync_fakes.lastfm import FakeArtist, FakeLastfm, FakeTrack

QUEEN = "5eecaf18-02ec-47af-a4f2-7831db373419"
CALLBACK = "http://127.0.0.1:8080/lastfm/callback?state=s-1"


def artists(n: int, prefix: str = "Band") -> list[FakeArtist]:
    return [FakeArtist(f"{prefix} {i}", 100 - i) for i in range(n)]


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeLastfm]:
    async with FakeLastfm(log_path=tmp_path / "lastfm.jsonl") as server:
        server.add_user(
            "listener",
            [FakeArtist("Queen", 1511, QUEEN), FakeArtist("Beyoncé", 30), FakeArtist("Beyonce", 12),
             *artists(10)],
            [FakeTrack("Bohemian Rhapsody", "Queen", 90, artist_mbid=QUEEN),
             FakeTrack("Halo", "Beyoncé", 9)],
        )
        server.add_tags("Queen", [("classic rock", 100), ("seen live", 60), ("queen", 50),
                                  ("rock", 40), ("glam", 5)], mbid=QUEEN)
        yield server


@pytest.fixture
async def client(fake: FakeLastfm) -> AsyncIterator[LastfmClient]:
    async with aiohttp.ClientSession() as http:
        yield lastfm_client(http, fake)


def lastfm_client(http: aiohttp.ClientSession, fake: FakeLastfm, secret: str | None = None) -> LastfmClient:
    return LastfmClient(
        http, api_url=fake.api_url, api_key=fake.state.api_key,
        api_secret=secret or fake.state.api_secret, user_agent=user_agent("test"),
        pacer=Pacer(0.0, limited=LastfmRateLimited), retry_delay=0.0,
    )


def account(name: str, session_key: str | None = None) -> LinkedAccount:
    credentials = Credentials(access_token=session_key) if session_key else None
    return LinkedAccount(user_id=1, external_id=name, credentials=credentials)


def calls(fake_log: Path, method: str) -> int:
    lines = fake_log.read_text(encoding="utf-8").splitlines() if fake_log.exists() else []
    return sum(json.loads(line)["request"].get("method") == method for line in lines)


async def link(fake: FakeLastfm, client: LastfmClient, user: str) -> str:
    location = await fake.consent(auth_page_url(fake.auth_url, fake.state.api_key, CALLBACK), user)
    query = parse_qs(urlparse(location).query)
    assert query["state"] == ["s-1"]
    session = await client.get_session(query["token"][0])
    assert session.username == user
    assert session.key not in repr(session)
    return session.key


async def test_web_authentication_gives_a_session(fake: FakeLastfm, client: LastfmClient) -> None:
    assert await link(fake, client, "listener")
    assert {ua for ua in fake.state.user_agents if ua.startswith("SoundSync/")} == {
        user_agent("test")
    }


async def test_a_token_is_used_once_and_must_be_allowed(fake: FakeLastfm, client: LastfmClient) -> None:
    location = await fake.consent(auth_page_url(fake.auth_url, fake.state.api_key, CALLBACK), "listener")
    token = parse_qs(urlparse(location).query)["token"][0]
    await client.get_session(token)
    with pytest.raises(LastfmTokenInvalid) as reused:
        await client.get_session(token)
    assert reused.value.code == 4
    with pytest.raises(LastfmTokenInvalid) as not_allowed:
        await client.get_session(fake.unauthorised_token())
    assert not_allowed.value.code == 14
    assert token not in str(reused.value)
    expired = fake.state.issue_token("listener")
    fake.expire_tokens()
    with pytest.raises(LastfmTokenInvalid, match="error 15"):
        await client.get_session(expired)


async def test_a_wrong_secret_is_the_owners_problem(fake: FakeLastfm) -> None:
    async with aiohttp.ClientSession() as http:
        wrong = lastfm_client(http, fake, secret="0" * 32)
        with pytest.raises(LastfmSignatureInvalid) as caught:
            await wrong.get_session(fake.unauthorised_token())
    assert "LASTFM_API_SECRET" in caught.value.admin_message
    assert caught.value.account_status is None


async def test_fetch_ranks_the_last_twelve_months(fake: FakeLastfm, client: LastfmClient) -> None:
    listening = await LastfmSource(client).fetch(account("listener"))
    assert listening.window == "last 12 months"
    assert listening.account_id == "listener"
    first, second = listening.artists[:2]
    assert (first.id, first.name, first.playcount, first.rank) == (f"mbid:{QUEEN}", "Queen", 1511, 1)
    # "Beyoncé" and "Beyonce" are one artist: one entry, counts added.
    assert (second.id, second.playcount, second.rank) == ("name:beyonce", 42, 2)
    assert first.genres == ("classic rock", "rock")
    assert [a.rank for a in listening.artists] == list(range(1, 13))
    bohemian = listening.tracks[0]
    assert bohemian.artist_ids == (f"mbid:{QUEEN}",)
    assert bohemian.playcount == 90
    assert listening.tracks[1].artist_ids == ("name:beyonce",)


async def test_tags_are_cached_per_artist(fake: FakeLastfm, client: LastfmClient, tmp_path: Path) -> None:
    source = LastfmSource(client, tag_cache=MemoryTagCache())
    await source.fetch(account("listener"))
    first = calls(tmp_path / "lastfm.jsonl", "artist.getTopTags")
    await source.fetch(account("listener"))
    assert first == 12
    assert calls(tmp_path / "lastfm.jsonl", "artist.getTopTags") == first


async def test_light_users_fall_back_to_all_time(fake: FakeLastfm, client: LastfmClient) -> None:
    fake.add_user("light", {"12month": artists(3), "overall": artists(25)})
    listening = await LastfmSource(client).fetch(account("light"))
    assert listening.window == "all time"
    assert len(listening.artists) == 25


async def test_one_artist_sent_as_an_object_is_read(fake: FakeLastfm, client: LastfmClient) -> None:
    fake.add_user("solo", [FakeArtist("Queen", 3, QUEEN)], [FakeTrack("Innuendo", "Queen", 3)])
    listening = await LastfmSource(client).fetch(account("solo"))
    assert [a.id for a in listening.artists] == [f"mbid:{QUEEN}"]
    assert [t.name for t in listening.tracks] == ["Innuendo"]


async def test_nothing_scrobbled_yet_is_not_ready(fake: FakeLastfm, client: LastfmClient) -> None:
    fake.add_user("new")
    with pytest.raises(SourceNotReady):
        await LastfmSource(client).fetch(account("new"))


async def test_private_listening_is_read_with_the_members_session(
    fake: FakeLastfm, client: LastfmClient
) -> None:
    fake.add_user("shy", artists(12), private=True)
    with pytest.raises(LastfmPrivateProfile) as caught:
        await LastfmSource(client).fetch(account("shy"))
    assert caught.value.outcome == "private"
    session_key = await link(fake, client, "shy")
    listening = await LastfmSource(client).fetch(account("shy", session_key))
    assert len(listening.artists) == 12


async def test_a_revoked_session_asks_to_link_again(fake: FakeLastfm, client: LastfmClient) -> None:
    session_key = await link(fake, client, "listener")
    fake.revoke_sessions("listener")
    with pytest.raises(LastfmSessionInvalid) as caught:
        await LastfmSource(client).fetch(account("listener", session_key))
    assert caught.value.account_status == EXPIRED
    assert session_key not in str(caught.value)


async def test_an_unknown_user_is_said_plainly(client: LastfmClient) -> None:
    with pytest.raises(LastfmUnknownUser) as caught:
        await LastfmSource(client).fetch(account("nobody-here"))
    assert caught.value.outcome == "unknown_user"
    assert "/link" in caught.value.member_message


@pytest.mark.parametrize(("mode", "code", "needle"), [
    ("invalid_key", 10, "LASTFM_API_KEY"), ("suspended_key", 26, "suspended"),
])
async def test_a_rejected_api_key_is_for_the_owner(
    fake: FakeLastfm, client: LastfmClient, mode: str, code: int, needle: str
) -> None:
    fake.set_mode(mode)
    with pytest.raises(LastfmApiKeyRejected) as caught:
        await LastfmSource(client).fetch(account("listener"))
    assert caught.value.code == code
    assert needle in caught.value.admin_message
    assert "LASTFM" not in caught.value.member_message


async def test_rate_limited_backs_off_without_waiting(
    fake: FakeLastfm, client: LastfmClient, tmp_path: Path
) -> None:
    fake.set_mode("rate_limited", count=1)
    with pytest.raises(LastfmRateLimited) as caught:
        await LastfmSource(client).fetch(account("listener"))
    assert caught.value.retry_after == 60
    before = calls(tmp_path / "lastfm.jsonl", "user.getTopArtists")
    # The back-off holds the client: the next call fails at once, without asking Last.fm.
    with pytest.raises(LastfmRateLimited):
        await LastfmSource(client).fetch(account("listener"))
    assert calls(tmp_path / "lastfm.jsonl", "user.getTopArtists") == before


@pytest.mark.parametrize("mode", ["offline", "temporary", "server_error"])
async def test_a_passing_outage_is_retried(fake: FakeLastfm, client: LastfmClient, mode: str) -> None:
    fake.set_mode(mode, count=2)
    listening = await LastfmSource(client).fetch(account("listener"))
    assert listening.artists


async def test_a_lasting_outage_is_unavailable(fake: FakeLastfm, client: LastfmClient) -> None:
    fake.set_mode("offline")
    with pytest.raises(LastfmUnavailable) as caught:
        await LastfmSource(client).fetch(account("listener"))
    assert caught.value.account_status is None


async def test_busy_tags_cost_only_the_genres(fake: FakeLastfm, client: LastfmClient) -> None:
    source = LastfmSource(client)
    ranked = (await source.fetch(account("listener"))).artists
    fake.set_mode("offline")
    assert await LastfmSource(client)._genres(ranked) == {}
