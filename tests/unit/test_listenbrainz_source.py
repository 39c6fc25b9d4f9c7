"""The ListenBrainz client and source against the fake ListenBrainz on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from soundsync_core.sources.base import EXPIRED, LinkedAccount
from soundsync_core.sources.listenbrainz import ListenBrainzSource
from soundsync_core.sources.listenbrainz_client import ListenBrainzClient
from soundsync_core.sources.listenbrainz_errors import (
    ListenBrainzNotReady,
    ListenBrainzRateLimited,
    ListenBrainzTokenInvalid,
    ListenBrainzTokenMismatch,
    ListenBrainzUnavailable,
    ListenBrainzUnknownUser,
)
from soundsync_core.sources.pacing import Pacer, user_agent
from soundsync_fakes.listenbrainz import FakeListen, FakeListenBrainz

MGK = "f6af669a-56ea-448a-a044-de76181ada33"
BLACKBEAR = "e07d9474-00ea-4460-ac27-88b46b3d976e"
RECORDING = "6cd38dad-148f-4381-9cf4-b75f496238c6"
TOKEN = "a-ListenBrainz-user-token"


def bands(n: int, count: int = 10) -> list[FakeListen]:
    return [FakeListen(f"Band {i}", count) for i in range(n)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeListenBrainz]:
    async with FakeListenBrainz() as server:
        server.add_user("Akshaaatt", token=TOKEN)
        server.set_stats("akshaaatt", "artists", "year", [FakeListen("mgk", 300, MGK), *bands(10)])
        server.set_stats("akshaaatt", "artists", "this_year", [
            FakeListen("Linkin Park", 250, "f59c5520-5f46-4d2c-b2c4-822eabf53419"),
            FakeListen("mgk", 100, MGK),
        ])
        server.set_stats("akshaaatt", "recordings", "year", [
            FakeListen("Machine Gun Kelly feat. blackbear", 40, None, "my ex’s best friend", RECORDING),
            FakeListen("Sanam Malik, ANA", 30, title="Jaane Kaise"),
        ])
        server.set_stats("akshaaatt", "recordings", "this_year", [
            FakeListen("Machine Gun Kelly", 25, MGK, "my ex’s best friend", RECORDING),
        ])
        yield server


def lb_client(
    http: aiohttp.ClientSession, fake: FakeListenBrainz, max_wait: float = 10.0
) -> ListenBrainzClient:
    pacer = Pacer(0.0, max_wait=max_wait, limited=ListenBrainzRateLimited)
    return ListenBrainzClient(
        http, api_url=fake.api_url, user_agent=user_agent("test"), pacer=pacer, retry_delay=0.0
    )


@pytest.fixture
async def client(fake: FakeListenBrainz) -> AsyncIterator[ListenBrainzClient]:
    async with aiohttp.ClientSession() as http:
        yield lb_client(http, fake)


def account(name: str) -> LinkedAccount:
    return LinkedAccount(user_id=1, external_id=name, credentials=None)


async def test_the_token_proves_the_username(fake: FakeListenBrainz, client: ListenBrainzClient) -> None:
    assert await client.verify_user("akshaaatt", TOKEN) == "Akshaaatt"
    assert fake.state.user_agents == {user_agent("test")}
    assert user_agent("test").startswith("SoundSync/")


async def test_a_token_of_someone_else_is_refused(fake: FakeListenBrainz, client: ListenBrainzClient) -> None:
    fake.add_user("someone-else", token="their-token")
    with pytest.raises(ListenBrainzTokenMismatch) as caught:
        await client.verify_user("Akshaaatt", "their-token")
    assert caught.value.outcome == "token_mismatch"
    assert "their-token" not in str(caught.value)


async def test_an_invalid_token_is_refused(client: ListenBrainzClient) -> None:
    with pytest.raises(ListenBrainzTokenInvalid) as caught:
        await client.verify_user("Akshaaatt", "made-up")
    assert "settings" in caught.value.member_message


async def test_fetch_adds_last_year_and_this_year(client: ListenBrainzClient) -> None:
    listening = await ListenBrainzSource(client).fetch(account("akshaaatt"))
    assert listening.account_id == "Akshaaatt"
    assert listening.window == f"since January {datetime.now(UTC).year - 1}"
    top = listening.artists[0]
    assert (top.id, top.name, top.playcount, top.rank) == (f"mbid:{MGK}", "mgk", 400, 1)
    assert listening.artists[1].name == "Linkin Park"
    assert len(listening.artists) == 12
    first_track = listening.tracks[0]
    assert (first_track.id, first_track.playcount) == (f"mbid:{RECORDING}", 65)
    assert listening.tracks[1].id == "name:sanam malik ana — jaane kaise"
    assert listening.tracks[1].artist_ids == ("name:sanam malik ana",)


async def test_credited_artists_of_a_recording_are_each_kept(
    fake: FakeListenBrainz, client: ListenBrainzClient
) -> None:
    fake.set_stats("akshaaatt", "recordings", "year", None)
    listening = await ListenBrainzSource(client).fetch(account("akshaaatt"))
    assert listening.tracks[0].artist_ids == (f"mbid:{MGK}",)


async def test_light_users_fall_back_to_all_time(fake: FakeListenBrainz, client: ListenBrainzClient) -> None:
    fake.add_user("light")
    fake.set_stats("light", "artists", "this_year", bands(2))
    fake.set_stats("light", "artists", "all_time", bands(30, count=3))
    listening = await ListenBrainzSource(client).fetch(account("light"))
    assert listening.window == "all time"
    assert len(listening.artists) == 30
    assert listening.tracks == ()


async def test_statistics_not_computed_yet(fake: FakeListenBrainz, client: ListenBrainzClient) -> None:
    fake.add_user("newcomer")
    with pytest.raises(ListenBrainzNotReady) as caught:
        await ListenBrainzSource(client).fetch(account("newcomer"))
    assert caught.value.outcome == "not_ready"
    assert caught.value.account_status is None
    assert "next refresh" in caught.value.member_message


async def test_an_unknown_user(client: ListenBrainzClient) -> None:
    with pytest.raises(ListenBrainzUnknownUser) as caught:
        await ListenBrainzSource(client).fetch(account("nobody"))
    assert caught.value.account_status == EXPIRED


async def test_an_empty_window_holds_the_client(fake: FakeListenBrainz, client: ListenBrainzClient) -> None:
    fake.set_rate_limit(2, window=30.0)
    await client.user_stats("akshaaatt", "artists", "year", 10)
    await client.user_stats("akshaaatt", "artists", "year", 10)
    # X-RateLimit-Remaining reached 0: the client waits for X-RateLimit-Reset-In, which is
    # longer than it waits inline, so it says "rate limited" without asking again.
    assert client.pacer.held_for() > 20
    with pytest.raises(ListenBrainzRateLimited) as caught:
        await client.user_stats("akshaaatt", "artists", "year", 10)
    assert caught.value.retry_after > 20


async def test_a_429_is_backed_off_and_retried(fake: FakeListenBrainz, client: ListenBrainzClient) -> None:
    fake.set_rate_limit(100, window=1.0)
    fake.set_mode("rate_limited", count=1)
    page = await client.user_stats("akshaaatt", "artists", "year", 10)
    assert page.items
    assert client.pacer.held_for() == 0


async def test_a_long_429_is_reported_not_waited(fake: FakeListenBrainz) -> None:
    fake.set_rate_limit(1, window=60.0)
    async with aiohttp.ClientSession() as http:
        client = lb_client(http, fake, max_wait=1.0)
        await client.validate_token(TOKEN)
        with pytest.raises(ListenBrainzRateLimited) as caught:
            await ListenBrainzSource(client).fetch(account("akshaaatt"))
    assert 50 < caught.value.retry_after <= 60


async def test_server_errors_are_retried_then_reported(
    fake: FakeListenBrainz, client: ListenBrainzClient
) -> None:
    fake.set_mode("server_error", count=2)
    assert (await ListenBrainzSource(client).fetch(account("akshaaatt"))).artists
    fake.set_mode("server_error")
    with pytest.raises(ListenBrainzUnavailable):
        await ListenBrainzSource(client).fetch(account("akshaaatt"))
