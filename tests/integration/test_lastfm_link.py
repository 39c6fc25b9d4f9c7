"""Linking Last.fm through the web app and the fake Last.fm: the one-time state, the member-naming
/link page, Continue to Last.fm's auth page, our /lastfm/callback, auth.getSession, the first fetch.

Every failure shows the member a clear page and writes no account and no profile.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from soundsync_cli.bootstrap import build_sources, lastfm_linking
from soundsync_core.repositories import app_state
from soundsync_core.security.vault import TokenVault
from soundsync_core.services import members
from soundsync_core.services.ingestion import ingest_member
from soundsync_core.services.linking import start_link
from soundsync_core.settings import Settings, load_settings
from soundsync_core.sources.base import SourceRegistry
from soundsync_fakes.browser import continue_to_provider
from soundsync_fakes.lastfm import FakeArtist, FakeLastfm
from web.app import create_app

ARTISTS = [FakeArtist(name, 100 - i) for i, name in enumerate(
    ["Coltrane", "Monk", "Mingus", "Davis", "Evans", "Hancock", "Shorter", "Rollins", "Hill",
     "Dolphy", "Coleman"])]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Harness:
    settings: Settings
    pool: asyncpg.Pool
    lastfm: FakeLastfm
    sources: SourceRegistry
    vault: TokenVault
    http: aiohttp.ClientSession

    async def link_url(self, user_id: int = 42) -> str:
        return await start_link(self.pool, self.vault, self.settings, user_id, None,
                                member_name="Bob", source="lastfm")

    async def callback(self, user: str = "bob-fm", user_id: int = 42) -> str:
        """/link → Continue → the fake's consent as ``user``: our callback URL with a token."""
        authorize = await continue_to_provider(self.http, await self.link_url(user_id))
        return await self.lastfm.consent(authorize, user)

    async def get(self, url: str) -> tuple[int, str]:
        async with self.http.get(url, allow_redirects=False) as response:
            return response.status, await response.text()

    async def rows(self) -> dict[str, int]:
        return {table: await self.pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
                for table in ("accounts", "profiles", "members")}


@pytest.fixture
async def harness(pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    port = _free_port()
    async with FakeLastfm() as lastfm, aiohttp.ClientSession() as http:
        lastfm.add_user("bob-fm", ARTISTS)
        settings = load_settings(
            _env_file=None, spotify_client_id="unused", port=port,
            soundsync_secret_key=Fernet.generate_key().decode(),
            public_base_url=f"http://127.0.0.1:{port}", **lastfm.settings_overrides(),
        )
        sources = build_sources(pool, None, settings, http)
        app = create_app(settings, pool, lastfm=lastfm_linking(settings, pool, sources))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield Harness(settings, pool, lastfm, sources,
                          TokenVault(settings.soundsync_secret_key), http)
        finally:
            await runner.cleanup()


async def test_link_page_names_the_member_and_continues_to_lastfm_with_our_callback(
    harness: Harness,
) -> None:
    url = await harness.link_url()
    status, page = await harness.get(url)
    assert status == 200
    assert "Link Last.fm" in page
    assert "<strong>Bob</strong>" in page
    authorize = urlsplit(await continue_to_provider(harness.http, url))
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == harness.lastfm.auth_url
    query = parse_qs(authorize.query)
    assert query["api_key"] == [harness.lastfm.state.api_key]
    callback = urlsplit(query["cb"][0])
    assert callback.path == "/lastfm/callback"
    assert parse_qs(callback.query)["state"] == parse_qs(urlsplit(url).query)["state"]


async def test_web_auth_stores_the_username_the_encrypted_session_key_and_the_profile(
    harness: Harness,
) -> None:
    status, page = await harness.get(await harness.callback())
    assert status == 200
    assert "Last.fm linked" in page
    assert "bob-fm" in page
    assert "Coltrane" in page
    account = await harness.pool.fetchrow(
        "SELECT external_id, access_token_enc, status, listening_window FROM accounts "
        "WHERE user_id = 42 AND source = 'lastfm'"
    )
    assert account["external_id"] == "bob-fm"
    assert account["status"] == "active"
    assert account["listening_window"] == "last 12 months"
    session_key = harness.vault.decrypt(account["access_token_enc"])
    assert harness.lastfm.state.sessions[session_key] == "bob-fm"
    assert session_key.encode() not in account["access_token_enc"]
    artists = await harness.pool.fetchval(
        "SELECT artist_ids FROM profiles WHERE user_id = 42 AND source = 'lastfm'")
    assert artists[0] == "name:coltrane"


async def test_the_scheduled_refresh_reads_the_member_again_with_the_session_key(
    harness: Harness,
) -> None:
    await harness.get(await harness.callback())
    harness.lastfm.add_user("bob-fm", [FakeArtist("Monk", 500), *ARTISTS])
    outcome = await ingest_member(harness.pool, harness.sources.get("lastfm"), harness.vault, 42)
    assert outcome == "ingested"
    artists = await harness.pool.fetchval(
        "SELECT artist_ids FROM profiles WHERE user_id = 42 AND source = 'lastfm'")
    assert artists[0] == "name:monk"


async def test_a_revoked_session_expires_the_link_at_the_next_refresh(harness: Harness) -> None:
    await harness.get(await harness.callback())
    harness.lastfm.revoke_sessions("bob-fm")
    outcome = await ingest_member(harness.pool, harness.sources.get("lastfm"), harness.vault, 42)
    assert outcome == "expired"
    row = await harness.pool.fetchrow(
        "SELECT status, access_token_enc FROM accounts WHERE user_id = 42")
    assert (row["status"], row["access_token_enc"]) == ("expired", None)


async def _assert_nothing_stored(harness: Harness) -> None:
    assert await harness.rows() == {"accounts": 0, "profiles": 0, "members": 0}


async def test_cancelled_auth_stores_nothing(harness: Harness) -> None:
    callback = await harness.callback()
    status, page = await harness.get(callback.split("&token=")[0])
    assert status == 200
    assert "You cancelled" in page
    await _assert_nothing_stored(harness)


async def test_a_replayed_state_is_refused(harness: Harness) -> None:
    callback = await harness.callback()
    assert (await harness.get(callback))[0] == 200
    before = await harness.rows()
    status, page = await harness.get(callback)
    assert status == 400
    assert "already used" in page
    assert await harness.rows() == before


async def test_an_expired_state_is_refused_and_stores_nothing(harness: Harness) -> None:
    callback = await harness.callback()
    await harness.pool.execute("UPDATE oauth_states SET expires_at = now() - interval '1 second'")
    status, page = await harness.get(callback)
    assert status == 400
    assert "expired" in page
    await _assert_nothing_stored(harness)


async def test_a_spotify_state_cannot_finish_a_lastfm_link(harness: Harness) -> None:
    spotify_state = parse_qs(urlsplit(await start_link(
        harness.pool, harness.vault, harness.settings, 42, None)).query)["state"][0]
    token = harness.lastfm.state.issue_token("bob-fm")
    base = str(harness.settings.public_base_url).rstrip("/")
    status, page = await harness.get(
        f"{base}/lastfm/callback?state={spotify_state}&token={token}")
    assert status == 400
    assert "not a Last.fm link" in page
    await _assert_nothing_stored(harness)


@pytest.mark.parametrize(("spoil", "words"), [
    ("unknown_token", "did not confirm the link"),          # 4
    ("unauthorised_token", "did not confirm the link"),     # 14
    ("expired_token", "did not confirm the link"),          # 15
    ("unknown_user", "has no user by that name"),           # 6
    ("private", "listening is private"),                    # 17
    ("invalid_key", "not available on this bot"),           # 10
    ("suspended_key", "not available on this bot"),         # 26
    ("bad_secret", "not available on this bot"),            # 13
    ("rate_limited", "asked us to slow down"),              # 29
    ("offline", "could not be reached"),                    # 11
    ("temporary", "could not be reached"),                  # 16
    ("server_error", "could not be reached"),               # 5xx
])
async def test_each_lastfm_error_shows_a_clear_page_and_stores_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, spoil: str, words: str,
) -> None:
    callback = await harness.callback()
    lastfm = harness.lastfm
    if spoil in ("unknown_token", "unauthorised_token"):
        token = "not-a-token" if spoil == "unknown_token" else lastfm.unauthorised_token()
        callback = callback.split("&token=")[0] + f"&token={token}"
    elif spoil == "expired_token":
        lastfm.expire_tokens()
    elif spoil == "unknown_user":
        del lastfm.state.users["bob-fm"]
    elif spoil == "private":
        lastfm.state.users["bob-fm"].private = True
        issue = lastfm.state.session_for

        def session_of_someone_else(token: str) -> tuple[str, str]:
            name, key = issue(token)
            lastfm.state.sessions[key] = "someone-else"
            return name, key

        monkeypatch.setattr(lastfm.state, "session_for", session_of_someone_else)
    elif spoil == "bad_secret":
        lastfm.state.api_secret = "not-our-secret"
    else:
        lastfm.set_mode(spoil)
    status, page = await harness.get(callback)
    assert status == 502
    assert words in page
    assert "Nothing was saved" in page
    await _assert_nothing_stored(harness)


async def test_a_rejected_api_key_is_shown_to_the_admin(harness: Harness) -> None:
    callback = await harness.callback()
    harness.lastfm.set_mode("suspended_key")
    await harness.get(callback)
    problems = await app_state.get_fact(harness.pool, app_state.SOURCE_PROBLEMS)
    assert problems == {"lastfm": "Last.fm suspended this bot's API key (error 26): contact Last.fm."}
    stats = await members.community_stats(harness.pool, 1)
    assert stats.source_problems == problems
