"""The fake Spotify speaks like the real one: OAuth, Web API shapes, modes, faults, log."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import aiohttp
import pytest

from soundsync_fakes.spotify import FakeSpotify

# Required keys copied from the Spotify OpenAPI schema (reference/spotify-web-api.openapi.yml,
# version 2026.5.31), so this test runs without the reference folder.
PAGING_REQUIRED = {"href", "items", "limit", "next", "offset", "previous", "total"}
ALBUM_REQUIRED = {
    "album_type", "total_tracks", "available_markets", "external_urls", "href", "id", "images",
    "name", "release_date", "release_date_precision", "type", "uri", "artists",
}
IMAGE_REQUIRED = {"url", "height", "width"}
ERROR_REQUIRED = {"status", "message"}
# Properties (the schema marks none required) every full-access object of ours carries.
ARTIST_KEYS = {
    "external_urls", "followers", "genres", "href", "id", "images", "name", "popularity",
    "type", "uri",
}
SIMPLIFIED_ARTIST_KEYS = {"external_urls", "href", "id", "name", "type", "uri"}
TRACK_KEYS = {
    "album", "artists", "available_markets", "disc_number", "duration_ms", "explicit",
    "external_ids", "external_urls", "href", "id", "name", "popularity", "preview_url",
    "track_number", "type", "uri", "is_local",
}
USER_KEYS = {
    "account_id", "country", "display_name", "email", "explicit_content", "external_urls",
    "followers", "href", "id", "images", "product", "type", "uri",
}
AUDIO_FEATURE_KEYS = {
    "acousticness", "analysis_url", "danceability", "duration_ms", "energy", "id",
    "instrumentalness", "key", "liveness", "loudness", "mode", "speechiness", "tempo",
    "time_signature", "track_href", "type", "uri", "valence",
}


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeSpotify]:
    async with FakeSpotify(seed=7, log_path=tmp_path / "fake.jsonl") as server:
        server.seed_user("alice", "Alice", n_artists=8, n_tracks=12)
        server.seed_user("bob", "Bob", n_artists=3, n_tracks=3)
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _authorize_url(fake: FakeSpotify, verifier: str, **overrides: str) -> str:
    query = {
        "client_id": fake.client_id, "response_type": "code", "redirect_uri": fake.redirect_uri,
        "state": "s-1", "scope": "user-top-read", "code_challenge_method": "S256",
        "code_challenge": _challenge(verifier), **overrides,
    }
    return f"{fake.url}/authorize?{urlencode(query)}"


async def _code(fake: FakeSpotify, verifier: str, user: str = "alice") -> str:
    location = await fake.consent(_authorize_url(fake, verifier), user)
    return parse_qs(urlparse(location).query)["code"][0]


async def _tokens(fake: FakeSpotify, http: aiohttp.ClientSession, user: str = "alice") -> Any:
    verifier = secrets.token_urlsafe(64)
    form = {
        "grant_type": "authorization_code", "code": await _code(fake, verifier, user),
        "redirect_uri": fake.redirect_uri, "client_id": fake.client_id,
        "code_verifier": verifier,
    }
    async with http.post(f"{fake.url}/api/token", data=form) as response:
        assert response.status == 200
        return await response.json()


async def _get(http: aiohttp.ClientSession, url: str, token: str) -> tuple[int, Any]:
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        body = await response.read()
        return response.status, json.loads(body) if body else None


async def test_authorize_page_validates_client_and_redirect_uri(fake, http) -> None:
    verifier = secrets.token_urlsafe(64)
    async with http.get(_authorize_url(fake, verifier)) as response:
        assert response.status == 200
        page = await response.text()
    assert "Alice" in page
    assert 'value="approve"' in page
    assert 'value="deny"' in page
    async with http.get(_authorize_url(fake, verifier, client_id="nope")) as response:
        assert response.status == 400
    bad_redirect = _authorize_url(fake, verifier, redirect_uri=fake.redirect_uri + "/")
    async with http.get(bad_redirect) as response:
        assert response.status == 400
        assert await response.text() == "INVALID_CLIENT: Invalid redirect URI"


async def test_consent_approve_and_deny_redirect_with_state(fake) -> None:
    verifier = secrets.token_urlsafe(64)
    approved = urlparse(await fake.consent(_authorize_url(fake, verifier), "bob"))
    assert f"{approved.scheme}://{approved.netloc}{approved.path}" == fake.redirect_uri
    assert set(parse_qs(approved.query)) == {"code", "state"}
    denied = await fake.consent(_authorize_url(fake, verifier), "bob", approve=False)
    assert parse_qs(urlparse(denied).query) == {"error": ["access_denied"], "state": ["s-1"]}


async def test_token_exchange_answer_and_single_use_code(fake, http) -> None:
    verifier = secrets.token_urlsafe(64)
    code = await _code(fake, verifier)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": fake.redirect_uri,
            "client_id": fake.client_id, "code_verifier": verifier}
    async with http.post(f"{fake.url}/api/token", data=form) as response:
        body = await response.json()
    assert set(body) == {"access_token", "token_type", "scope", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600,
                                                                     "user-top-read")
    async with http.post(f"{fake.url}/api/token", data=form) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_grant"


async def test_token_exchange_rejects_wrong_verifier_and_wrong_secret(fake, http) -> None:
    verifier = secrets.token_urlsafe(64)
    form = {"grant_type": "authorization_code", "code": await _code(fake, verifier),
            "redirect_uri": fake.redirect_uri, "client_id": fake.client_id,
            "code_verifier": secrets.token_urlsafe(64)}
    async with http.post(f"{fake.url}/api/token", data=form) as response:
        assert response.status == 400
        assert await response.json() == {"error": "invalid_grant",
                                         "error_description": "code_verifier was incorrect"}
    wrong = {"Authorization": aiohttp.encode_basic_auth(fake.client_id, "not-the-secret")}
    async with http.post(f"{fake.url}/api/token", data=form, headers=wrong) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_client"


async def test_confidential_client_without_pkce(fake, http) -> None:
    url = _authorize_url(fake, "x", code_challenge="", code_challenge_method="")
    code = parse_qs(urlparse(await fake.consent(url, "alice")).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": fake.redirect_uri}
    basic = {"Authorization": aiohttp.encode_basic_auth(fake.client_id, fake.client_secret)}
    async with http.post(f"{fake.url}/api/token", data=form, headers=basic) as response:
        assert response.status == 200


async def _refresh(fake: FakeSpotify, http: aiohttp.ClientSession, token: str) -> Any:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": fake.client_id}
    async with http.post(f"{fake.url}/api/token", data=form) as response:
        return response.status, await response.json()


async def test_refresh_rotates_omits_and_expires(fake, http) -> None:
    first = await _tokens(fake, http)
    status, rotated = await _refresh(fake, http, first["refresh_token"])
    assert status == 200
    assert rotated["refresh_token"] != first["refresh_token"]
    assert (await _refresh(fake, http, first["refresh_token"]))[0] == 400
    fake.refresh_omits_token = True
    status, omitted = await _refresh(fake, http, rotated["refresh_token"])
    assert status == 200
    assert "refresh_token" not in omitted
    fake.set_mode("expired_refresh")
    status, body = await _refresh(fake, http, rotated["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    fake.set_mode("full")
    fake.expire_refresh_tokens("alice")
    assert (await _refresh(fake, http, rotated["refresh_token"]))[0] == 400


async def test_bearer_token_required_and_expiry(fake, http) -> None:
    async with http.get(f"{fake.url}/v1/me") as response:
        assert response.status == 401
    tokens = await _tokens(fake, http)
    assert (await _get(http, f"{fake.url}/v1/me/", tokens["access_token"]))[0] == 200
    fake.expire_access_tokens()
    status, body = await _get(http, f"{fake.url}/v1/me", tokens["access_token"])
    assert (status, body) == (401, {"error": {"status": 401,
                                              "message": "The access token expired"}})


async def test_top_items_paging_time_ranges_and_limits(fake, http) -> None:
    token = (await _tokens(fake, http))["access_token"]
    base = f"{fake.url}/v1/me/top/artists"
    status, page = await _get(http, f"{base}?limit=3&offset=3&time_range=long_term", token)
    assert status == 200
    assert set(page) == PAGING_REQUIRED
    assert (page["limit"], page["offset"], page["total"], len(page["items"])) == (3, 3, 8, 3)
    assert "offset=6" in page["next"]
    assert "offset=0" in page["previous"]
    expected = fake.catalog.users["alice"].top_artists["long_term"][3:6]
    assert [a["id"] for a in page["items"]] == expected
    _, last = await _get(http, f"{base}?limit=50&offset=5&time_range=long_term", token)
    assert last["next"] is None
    assert len(last["items"]) == 3
    _, short = await _get(http, f"{base}?limit=50&time_range=short_term", token)
    assert [a["id"] for a in short["items"]] == fake.catalog.users["alice"].top_artists[
        "short_term"]
    for bad in ("limit=0", "limit=51", "limit=x", "time_range=forever"):
        status, body = await _get(http, f"{base}?{bad}", token)
        assert status == 400
        assert set(body["error"]) == ERROR_REQUIRED


async def test_full_mode_shapes_match_schema(fake, http) -> None:
    token = (await _tokens(fake, http))["access_token"]
    _, user = await _get(http, f"{fake.url}/v1/me", token)
    assert set(user) == USER_KEYS
    assert user["type"] == "user"
    _, artists = await _get(http, f"{fake.url}/v1/me/top/artists?limit=1", token)
    artist = artists["items"][0]
    assert set(artist) == ARTIST_KEYS
    assert artist["genres"]
    assert artist["uri"] == f"spotify:artist:{artist['id']}"
    assert len(artist["id"]) == 22
    assert all(set(i) == IMAGE_REQUIRED for i in artist["images"])
    _, tracks = await _get(http, f"{fake.url}/v1/me/top/tracks?limit=1", token)
    track = tracks["items"][0]
    assert set(track) == TRACK_KEYS
    assert track["type"] == "track"
    assert set(track["album"]) == ALBUM_REQUIRED
    assert all(set(a) == SIMPLIFIED_ARTIST_KEYS for a in track["artists"])
    _, one = await _get(http, f"{fake.url}/v1/artists/{artist['id']}", token)
    assert one == artist
    ids = ",".join(fake.catalog.users["alice"].top_tracks["medium_term"])
    _, features = await _get(http, f"{fake.url}/v1/audio-features/?ids={ids}", token)
    known = [f for f in features["audio_features"] if f is not None]
    assert known
    assert all(set(f) == AUDIO_FEATURE_KEYS for f in known)


async def test_development_mode(fake, http) -> None:
    fake.set_mode("development")
    fake.allowlist("alice")
    token = (await _tokens(fake, http))["access_token"]
    _, user = await _get(http, f"{fake.url}/v1/me", token)
    assert not {"country", "email", "product", "followers"} & set(user)
    _, artists = await _get(http, f"{fake.url}/v1/me/top/artists", token)
    assert not {"genres", "popularity", "followers"} & set(artists["items"][0])
    ids = ",".join(a["id"] for a in artists["items"][:3])
    assert await _get(http, f"{fake.url}/v1/audio-features?ids={ids}", token) == (403, None)
    assert (await _get(http, f"{fake.url}/v1/artists?ids={ids}", token))[0] == 403
    stranger = (await _tokens(fake, http, "bob"))["access_token"]
    status, body = await _get(http, f"{fake.url}/v1/me", stranger)
    assert (status, body["error"]["message"]) == (
        403, "User not registered in the Developer Dashboard")


async def test_allowlist_holds_five(fake) -> None:
    for n in range(4):
        fake.add_user(f"u{n}", f"User {n}", allowlisted=True)
    fake.allowlist("alice")
    with pytest.raises(ValueError, match="at most 5"):
        fake.allowlist("bob")


async def test_faults_count_down_and_recover(fake, http) -> None:
    token = (await _tokens(fake, http))["access_token"]
    fake.set_mode("rate_limited", retry_after=42, count=1)
    async with http.get(f"{fake.url}/v1/me", headers={"Authorization": f"Bearer {token}"}) as r:
        assert (r.status, r.headers["Retry-After"]) == (429, "42")
    assert (await _get(http, f"{fake.url}/v1/me", token))[0] == 200
    fake.set_mode("quota_exceeded", count=1)
    status, body = await _get(http, f"{fake.url}/v1/me", token)
    assert (status, body["error"]["reason"]) == (429, "QUOTA_EXCEEDED")
    fake.set_mode("server_error", count=2)
    statuses = [(await _get(http, f"{fake.url}/v1/me", token))[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert fake.mode == "full"


async def test_reccobeats_leaves_unknown_out(fake) -> None:
    artist = fake.add_artist("Known", ["jazz"])
    known = fake.add_track("known", [artist])
    only_spotify = fake.add_track("spotify only", [artist], in_reccobeats=False)
    unknown = fake.add_track("nobody", [artist], known=False)
    url = f"{fake.url}/reccobeats/v1/audio-features?ids={known},{only_spotify},{unknown}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        content = (await response.json())["content"]
    assert [c["href"] for c in content] == [f"https://open.spotify.com/track/{known}"]
    assert content[0]["id"] != known
    assert 0 <= content[0]["energy"] <= 1
    too_many = ",".join([known] * 41)
    async with aiohttp.ClientSession() as http, http.get(
        f"{fake.url}/reccobeats/v1/audio-features?ids={too_many}"
    ) as response:
        assert response.status == 400


async def test_fake_log_records_requests_without_secrets(fake, http, tmp_path) -> None:
    tokens = await _tokens(fake, http)
    await _get(http, f"{fake.url}/v1/me", tokens["access_token"])
    async with http.get(f"{fake.url}/reccobeats/v1/audio-features?ids=x"):
        pass
    lines = [json.loads(line) for line in (tmp_path / "fake.jsonl").read_text().splitlines()]
    assert all(set(e) == {"service", "method", "path", "status", "request", "response"}
               for e in lines)
    token_call = next(e for e in lines if e["path"] == "/api/token")
    assert token_call["request"]["code_verifier"] == "<redacted>"
    assert token_call["request"]["grant_type"] == "authorization_code"
    me_call = next(e for e in lines if e["path"] == "/v1/me")
    assert (me_call["status"], me_call["response"]["id"]) == (200, "alice")
    assert {e["service"] for e in lines} == {"spotify", "reccobeats"}
    assert any(e["status"] == 302 for e in lines)
