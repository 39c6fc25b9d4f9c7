"""The Spotify adapter over real spotipy against the fake Spotify on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from soundsync_core.settings import Settings, load_settings
from soundsync_core.sources.base import Credentials
from soundsync_core.sources.errors import (
    AudioFeaturesForbidden,
    SpotifyNotAllowlisted,
    SpotifyRateLimited,
    SpotifyTokenExpired,
    SpotifyUnauthorized,
    SpotifyUpstreamError,
    classify_response,
)
from soundsync_core.sources.spotify import fuse_rankings
from soundsync_core.sources.spotify_gateway import PauseGate, SpotifyGateway
from soundsync_core.taste.profile import AUDIO_FEATURES
from soundsync_fakes.spotify import FakeSpotify

pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeSpotify]:
    async with FakeSpotify(seed=11, log_path=tmp_path / "fake.jsonl") as server:
        server.seed_user("alice", "Alice", n_artists=12, n_tracks=20, allowlisted=True)
        server.seed_user("bob", "Bob", n_artists=4, n_tracks=4)
        yield server


@pytest.fixture
def settings(fake: FakeSpotify) -> Settings:
    return load_settings(**fake.settings_overrides())


@pytest.fixture
def gateway(settings: Settings) -> SpotifyGateway:
    return SpotifyGateway(settings, gate=PauseGate(), short_wait=5.0, server_retries=2,
                          backoff=0.01)


def _log(tmp_path: Path) -> list[dict]:
    path = tmp_path / "fake.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _calls(tmp_path: Path, prefix: str) -> int:
    return sum(1 for entry in _log(tmp_path) if entry["path"].startswith(prefix))


async def _link(fake: FakeSpotify, gateway: SpotifyGateway, user: str = "alice") -> Credentials:
    request = gateway.authorization_request("state-123")
    location = await fake.consent(request.url, user)
    query = parse_qs(urlparse(location).query)
    assert query["state"] == ["state-123"]
    return await gateway.exchange_code(query["code"][0], request.code_verifier)


# --- OAuth -----------------------------------------------------------------------------------


async def test_pkce_exchange_gives_tokens_hidden_from_repr(fake, gateway) -> None:
    request = gateway.authorization_request("st", show_dialog=True)
    query = parse_qs(urlparse(request.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["user-top-read"]
    assert query["show_dialog"] == ["true"]
    assert request.code_verifier not in repr(request)
    tokens = await _link(fake, gateway)
    assert tokens.scope == "user-top-read"
    assert tokens.expires_at == pytest.approx(time.time() + 3600, abs=5)
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in repr(tokens)


async def test_exchange_with_wrong_verifier_is_rejected(fake, gateway) -> None:
    request = gateway.authorization_request("st")
    code = parse_qs(urlparse(await fake.consent(request.url, "alice")).query)["code"][0]
    other = gateway.authorization_request("st")
    with pytest.raises(SpotifyTokenExpired, match="code_verifier was incorrect") as caught:
        await gateway.exchange_code(code, other.code_verifier)
    assert other.code_verifier not in str(caught.value)


async def test_refresh_rotates_or_keeps_old_refresh_token(fake, gateway) -> None:
    tokens = await _link(fake, gateway)
    rotated = await gateway.refresh(tokens)
    assert rotated.refresh_token != tokens.refresh_token
    assert rotated.access_token != tokens.access_token
    fake.refresh_omits_token = True
    kept = await gateway.refresh(rotated)
    assert kept.refresh_token == rotated.refresh_token
    assert kept.access_token != rotated.access_token


async def test_expired_refresh_token_means_relink(fake, gateway) -> None:
    tokens = await _link(fake, gateway)
    fake.set_mode("expired_refresh")
    with pytest.raises(SpotifyTokenExpired) as caught:
        await gateway.refresh(tokens)
    assert tokens.refresh_token not in str(caught.value)
    assert "link" in caught.value.member_message


# --- listening -------------------------------------------------------------------------------


def test_fusion_prefers_lasting_taste() -> None:
    fused = fuse_rankings({
        "short_term": ["fad", "steady", "old"],
        "medium_term": ["steady", "old", "fad"],
        "long_term": ["old", "steady"],
    })
    assert fused == ["steady", "old", "fad"]
    # With equal evidence, medium/long weigh more than short.
    assert fuse_rankings({"short_term": ["a", "b"], "long_term": ["b", "a"]}) == ["b", "a"]


async def test_fetch_listening_full_mode(fake, gateway, tmp_path) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    cache: dict[str, tuple[str, ...]] = {}
    listening = await session.fetch_listening(cache)
    alice = fake.catalog.users["alice"]
    assert (listening.user_id, listening.account_id) == ("alice", alice.account_id)
    assert listening.display_name == "Alice"
    assert [a.rank for a in listening.artists] == list(range(1, 13))
    ranges = alice.top_artists
    expected = fuse_rankings({r: ids[:50] for r, ids in ranges.items()})
    assert [a.id for a in listening.artists] == expected
    assert all(a.genres == fake.catalog.artists[a.id].genres for a in listening.artists)
    assert cache[listening.artists[0].id] == listening.artists[0].genres
    assert listening.genres_available
    assert {t.id for t in listening.tracks} == set(alice.top_tracks["medium_term"])
    first = listening.tracks[0]
    assert first.artist_ids == fake.catalog.tracks[first.id].artist_ids
    assert _calls(tmp_path, "/v1/artists/") == 0
    assert _calls(tmp_path, "/v1/me/top/") == 6


async def test_fetch_listening_development_mode_has_no_genres(fake, gateway, tmp_path) -> None:
    fake.set_mode("development")
    session = gateway.for_member(await _link(fake, gateway))
    listening = await session.fetch_listening({})
    assert len(listening.artists) == 12
    assert all(a.genres == () for a in listening.artists)
    assert not listening.genres_available
    assert _calls(tmp_path, "/v1/artists/") == 1  # one look, then it stops asking
    await session.fetch_listening({})
    assert _calls(tmp_path, "/v1/artists/") == 1  # the gateway remembers


async def test_not_allowlisted_member(fake, gateway) -> None:
    fake.set_mode("development")
    session = gateway.for_member(await _link(fake, gateway, "bob"))
    with pytest.raises(SpotifyNotAllowlisted) as caught:
        await session.me()
    assert "at most 5" in caught.value.member_message


# --- audio features --------------------------------------------------------------------------


def _tracks_with_coverage(fake: FakeSpotify) -> tuple[str, str, str]:
    artist = fake.add_artist("Coverage", ["jazz"])
    return (
        fake.add_track("everywhere", [artist]),
        fake.add_track("spotify only", [artist], in_reccobeats=False),
        fake.add_track("nowhere", [artist], known=False),
    )


async def test_audio_features_from_spotify_in_full_mode(fake, gateway) -> None:
    everywhere, spotify_only, nowhere = _tracks_with_coverage(fake)
    session = gateway.for_member(await _link(fake, gateway))
    result = await session.audio_features([everywhere, spotify_only, nowhere, everywhere])
    assert set(result.features) == {everywhere, spotify_only}
    assert set(result.provider.values()) == {"spotify"}
    assert set(result.features[everywhere]) == set(AUDIO_FEATURES)
    stored = fake.catalog.tracks[everywhere].features
    assert result.features[everywhere]["loudness"] == stored["loudness"]
    assert not result.spotify_forbidden


@pytest.mark.parametrize("body", ["empty", "json", "non_object"])
async def test_audio_features_fall_back_to_reccobeats_on_403(fake, gateway, tmp_path, body):
    fake.set_mode("development")
    fake.state.audio_features_403_body = body
    everywhere, spotify_only, nowhere = _tracks_with_coverage(fake)
    many = [t for t in fake.catalog.users["alice"].top_tracks["medium_term"]]
    session = gateway.for_member(await _link(fake, gateway))
    result = await session.audio_features([everywhere, spotify_only, nowhere, *many])
    assert result.spotify_forbidden
    assert gateway.audio_features_forbidden
    assert everywhere in result.features
    assert spotify_only not in result.features
    assert nowhere not in result.features
    assert set(result.provider.values()) == {"reccobeats"}
    assert _calls(tmp_path, "/reccobeats/v1/audio-features") == 1  # 23 ids: one batch
    await session.audio_features([everywhere])
    assert _calls(tmp_path, "/v1/audio-features") == 1  # not asked again


def test_403_without_json_object_is_classified() -> None:
    for body in (b"", b'"Forbidden"', b"<html>Forbidden</html>"):
        assert isinstance(classify_response(403, {}, body, "/v1/audio-features/"),
                          AudioFeaturesForbidden)


# --- rate limits, quota, 5xx, 401 ------------------------------------------------------------


async def test_short_retry_after_is_waited_without_blocking(fake, gateway) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    fake.set_mode("rate_limited", retry_after=1, count=1)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    me = await session.me()
    elapsed = time.monotonic() - started
    ticking.cancel()
    assert me["id"] == "alice"
    assert elapsed >= 0.9
    assert ticks >= 20  # the loop kept running other coroutines while we waited


async def test_long_retry_after_is_raised_and_closes_the_gate(fake, gateway, tmp_path) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    fake.set_mode("rate_limited", retry_after=3600, count=1)
    with pytest.raises(SpotifyRateLimited) as caught:
        await session.me()
    assert caught.value.retry_after == 3600
    assert not caught.value.quota_exceeded
    before = _calls(tmp_path, "/v1/")
    with pytest.raises(SpotifyRateLimited):
        await session.top_artists("short_term")
    assert _calls(tmp_path, "/v1/") == before


async def test_quota_exceeded_pauses_every_member(fake, gateway, tmp_path) -> None:
    fake.set_mode("development")
    fake.allowlist("bob")
    alice = gateway.for_member(await _link(fake, gateway))
    bob = gateway.for_member(await _link(fake, gateway, "bob"))
    fake.set_mode("quota_exceeded", retry_after=600, count=1)
    with pytest.raises(SpotifyRateLimited) as caught:
        await alice.me()
    assert caught.value.quota_exceeded
    before = _calls(tmp_path, "/v1/")
    with pytest.raises(SpotifyRateLimited) as other:
        await bob.me()
    assert other.value.quota_exceeded
    assert other.value.retry_after > 590
    assert _calls(tmp_path, "/v1/") == before


async def test_server_errors_retried_then_recovered(fake, gateway, tmp_path) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    fake.set_mode("server_error", count=2)
    assert (await session.me())["id"] == "alice"
    assert _calls(tmp_path, "/v1/me") == 3


async def test_server_errors_given_up_after_bounded_retries(fake, gateway, tmp_path) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    fake.set_mode("server_error")
    with pytest.raises(SpotifyUpstreamError) as caught:
        await session.me()
    assert caught.value.status == 503
    assert _calls(tmp_path, "/v1/me") == 3  # the call and server_retries=2


async def test_401_refreshes_once_and_reports_new_tokens(fake, gateway) -> None:
    tokens = await _link(fake, gateway)
    saved: list[Credentials] = []

    async def save(new: Credentials) -> None:
        saved.append(new)

    session = gateway.for_member(tokens, on_refresh=save)
    fake.expire_access_tokens()
    listening = await session.fetch_listening({})
    assert listening.user_id == "alice"
    assert len(saved) == 1
    assert session.tokens == saved[0]
    assert saved[0].access_token != tokens.access_token
    fake.expire_access_tokens()
    answers = await asyncio.gather(*(session.top_tracks(r) for r in ("short_term", "long_term")))
    assert all(a["items"] for a in answers)
    assert len(saved) == 2  # two concurrent 401s, one refresh (rotation would break a second)


async def test_401_with_dead_refresh_token_means_relink(fake, gateway) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    fake.expire_access_tokens()
    fake.expire_refresh_tokens()
    with pytest.raises(SpotifyTokenExpired):
        await session.me()


async def test_401_twice_is_unauthorized(fake, gateway) -> None:
    session = gateway.for_member(await _link(fake, gateway))
    fake.expire_access_tokens()
    fake.state.tokens.issue_access = lambda user, scope: "never-valid"  # refresh gives junk
    with pytest.raises(SpotifyUnauthorized) as caught:
        await session.me()
    assert "never-valid" not in str(caught.value)


async def test_reccobeats_outage_is_best_effort(fake, settings, tmp_path) -> None:
    fake.set_mode("development")
    everywhere, _, _ = _tracks_with_coverage(fake)
    down = settings.model_copy(update={"reccobeats_api_url": "http://127.0.0.1:9/v1"})
    gateway = SpotifyGateway(down, gate=PauseGate(), short_wait=1.0, backoff=0.01)
    session = gateway.for_member(await _link(fake, gateway))
    result = await session.audio_features([everywhere])
    assert result.spotify_forbidden
    assert result.features == {}
    assert not result.complete  # worth asking again later
