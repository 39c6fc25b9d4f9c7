"""The Spotify link flow through the aiohttp app, real spotipy against the fake, real PostgreSQL."""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from soundsync_core.db.pool import create_pool
from soundsync_core.repositories import app_state
from soundsync_core.repositories.accounts import NOT_ALLOWLISTED
from soundsync_core.services.notifications import LINKED
from soundsync_core.sources.spotify_auth import code_challenge
from tests.integration.link_harness import LinkHarness
from web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")

MEMBER_TABLES = ("accounts", "profiles", "guild_members", "members")


async def _nothing_written(h: LinkHarness) -> None:
    for table in MEMBER_TABLES:
        assert await h.count(table) == 0, table


# --- the happy paths ---------------------------------------------------------------------------


async def test_continue_redirects_to_spotify_with_pkce(h: LinkHarness) -> None:
    path = await h.link_path()
    assert path.startswith("/link?state=")
    location = urlsplit(await h.continue_link(path))
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{h.fake.url}/authorize"
    assert query["scope"] == "user-top-read"
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == h.settings.redirect_uri
    assert query["state"] == parse_qs(urlsplit(path).query)["state"][0]
    request = await h.linking.peek_state(query["state"])
    assert query["code_challenge"] == code_challenge(request.code_verifier)
    # Continuing again gives the same URL: neither the page nor Continue uses the state up.
    assert urlsplit(await h.continue_link(path)) == location


async def test_full_mode_link_stores_everything_and_notifies(h: LinkHarness) -> None:
    status, page = await h.link("alice")
    assert status == 200, page
    assert "Alice &lt;The Great&gt;" in page  # escaped
    artists = [h.fake.catalog.artists[a].name for a in h.fake.catalog.users["alice"].top_artists
               ["medium_term"]]
    assert sum(f"<li>{html.escape(name)}</li>" in page for name in artists) == 10
    row = await h.pool.fetchrow("SELECT * FROM accounts WHERE user_id = 1001")
    assert (row["status"], row["external_id"]) == ("active", h.fake.catalog.users["alice"].account_id)
    assert row["last_ingested_at"] is not None
    assert row["authorized_at"] is not None
    profile = await h.pool.fetchrow("SELECT * FROM profiles WHERE user_id = 1001")
    assert profile["source"] == "spotify"
    assert len(profile["artist_ids"]) == 12
    assert len(profile["track_ids"]) == 30
    assert await h.pool.fetchval("SELECT guild_id FROM guild_members WHERE user_id = 1001") == 7
    providers = dict(await h.pool.fetch(
        "SELECT provider, count(*) FROM track_features GROUP BY provider"))
    assert providers.get("spotify", 0) > 0
    assert sum(providers.values()) == 30
    assert set(providers) <= {"spotify", "reccobeats", "none"}
    assert await h.pool.fetchval("SELECT count(*) FROM artists WHERE genres <> '{}'") == 12
    events = await h.wait_for_events(1)
    assert (events[0].user_id, events[0].guild_id, events[0].event) == (1001, 7, LINKED)
    assert events[0].profile_ready


async def test_features_are_fetched_once_per_track(h: LinkHarness) -> None:
    assert (await h.link("alice"))[0] == 200
    assert (await h.link("alice", user_id=1002))[0] == 200  # same tracks, another member
    calls = [e for e in h.fake_log() if "audio-features" in e["path"]]
    assert len([e for e in calls if e["path"].startswith("/v1/")]) == 1


async def test_development_mode_allowlisted_member_uses_reccobeats(h: LinkHarness) -> None:
    h.fake.set_mode("development")
    status, page = await h.link("alice")
    assert status == 200, page
    providers = dict(await h.pool.fetch(
        "SELECT provider, count(*) FROM track_features GROUP BY provider"))
    assert providers.get("reccobeats", 0) > 0
    assert "spotify" not in providers
    assert await app_state.get_fact(h.pool, app_state.SPOTIFY_AUDIO_FEATURES) == {"forbidden": True}
    assert await h.pool.fetchval("SELECT count(*) FROM artists WHERE genres <> '{}'") == 0
    metrics = await h.metrics()
    assert metrics["soundsync_spotify_errors_total", frozenset({("status", "403")})] == 1


async def test_development_mode_member_not_allowlisted(h: LinkHarness) -> None:
    h.fake.set_mode("development")
    status, page = await h.link("bob")
    assert status == 403
    assert "allowlist" in page
    assert "at most 5" in page
    row = await h.pool.fetchrow("SELECT * FROM accounts WHERE user_id = 1001")
    assert row["status"] == "not_allowlisted"
    assert row["access_token_enc"] is None
    assert row["refresh_token_enc"] is None
    for table in ("profiles", "guild_members", "artists", "tracks", "track_features"):
        assert await h.count(table) == 0, table
    events = await h.wait_for_events(1)
    assert events[0].event == NOT_ALLOWLISTED


# --- every bad case ----------------------------------------------------------------------------


@pytest.mark.parametrize("defect", ["missing", "unknown", "tampered", "expired"])
async def test_state_defects_give_400_and_write_nothing(h: LinkHarness, defect: str) -> None:
    query = await h.consent("alice")
    if defect == "missing":
        del query["state"]
    elif defect == "unknown":
        query["state"] = "x" * 43
    elif defect == "tampered":
        query["state"] = query["state"][:-2] + ("AA" if query["state"][-2:] != "AA" else "BB")
    else:
        await h.pool.execute("UPDATE oauth_states SET expires_at = now() - interval '1 second'")
    status, page = await h.callback(query)
    assert status == 400
    assert "/link" in page
    assert "Nothing was saved" in page
    await _nothing_written(h)
    response = await h.client.get("/link", params={"state": query.get("state", "")})
    assert response.status == 400


async def test_reused_state_gives_400(h: LinkHarness) -> None:
    query = await h.consent("alice")
    assert (await h.callback(query))[0] == 200
    status, page = await h.callback(query)
    assert status == 400
    assert "already used" in page
    assert await h.count("accounts") == 1


async def test_access_denied_is_a_friendly_cancel(h: LinkHarness) -> None:
    query = await h.consent("alice", approve=False)
    assert query["error"] == "access_denied"
    status, page = await h.callback(query)
    assert status == 200
    assert "cancelled" in page
    await _nothing_written(h)


async def test_token_endpoint_down_gives_502_and_keeps_the_state(h: LinkHarness) -> None:
    query = await h.consent("alice")
    await h.fake.stop()
    status, page = await h.callback(query)
    assert status == 502
    assert "nothing was saved" in page
    await _nothing_written(h)
    assert await h.pool.fetchval("SELECT used_at FROM oauth_states") is None  # retry possible


@pytest.mark.parametrize("mode", ["rate_limited", "quota_exceeded"])
async def test_long_retry_after_links_now_and_ingests_later(h: LinkHarness, mode: str) -> None:
    query = await h.consent("alice")
    h.fake.set_mode(mode, retry_after=3600, count=1)
    started = time.monotonic()
    status, page = await h.callback(query)
    assert time.monotonic() - started < 2.0  # nobody waited for the hour
    assert status == 200
    assert "later" in page
    row = await h.pool.fetchrow("SELECT * FROM accounts WHERE user_id = 1001")
    assert row["status"] == "active"
    assert row["refresh_token_enc"] is not None
    assert row["last_ingested_at"] is None
    assert await h.count("profiles") == 0
    events = await h.wait_for_events(1)
    assert events[0].event == LINKED
    assert not events[0].profile_ready
    quota = await app_state.get_fact(h.pool, app_state.SPOTIFY_QUOTA_PAUSED_UNTIL)
    assert (quota is not None) == (mode == "quota_exceeded")
    assert ("quota" in page) == (mode == "quota_exceeded")


async def test_server_errors_are_retried_then_recover(h: LinkHarness) -> None:
    query = await h.consent("alice")
    h.fake.set_mode("server_error", count=2)
    status, page = await h.callback(query)
    assert status == 200, page
    assert sum(1 for e in h.fake_log() if e["status"] == 503) == 2
    assert await h.count("profiles") == 1


# --- health and metrics ------------------------------------------------------------------------


async def test_healthz_reports_the_database(h: LinkHarness, db_url: str) -> None:
    response = await h.client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["database"] is True
    own_pool = await create_pool(db_url, attempts=1, max_size=1)
    app = create_app(h.settings, own_pool, gateway=h.gateway, vault=h.vault)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        await own_pool.close()  # the database is gone
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["database"] is False


async def test_metrics_count_links_errors_and_latency(h: LinkHarness) -> None:
    assert (await h.link("alice"))[0] == 200
    assert (await h.callback({"state": "forged", "code": "x"}))[0] == 400
    metrics = await h.metrics()
    assert metrics["soundsync_links_total", frozenset({("outcome", "linked")})] == 1
    assert metrics["soundsync_links_total", frozenset({("outcome", "bad_state")})] == 1
    assert metrics["soundsync_ingests_total", frozenset({("result", "ingested")})] == 1
    latency = "soundsync_http_request_duration_seconds_count"
    assert metrics[latency, frozenset({("route", "/callback")})] == 2
    assert not any("forged" in str(key) for key in metrics)
