"""The link flow, sealed: what a security probe of the web app found, each closed.

Same harness as test_web_link.py: the real aiohttp app, real spotipy, the fake Spotify, a real
PostgreSQL. Raw sockets where a real client would clean the request up first.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from tests.integration.link_harness import LinkHarness
from web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")

MEMBER_TABLES = ("accounts", "profiles", "guild_members", "members")


async def _nothing_written(h: LinkHarness) -> None:
    for table in MEMBER_TABLES:
        assert await h.count(table) == 0, table
    assert await h.pool.fetchval("SELECT count(*) FROM oauth_states WHERE used_at IS NOT NULL") == 0


def _text(page: str) -> str:
    """What a reader sees: tags dropped (inline ones without a gap), entities decoded."""
    inline_dropped = re.sub(r"</?(strong|code|em)>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline_dropped)).split())


def _form_token(page: str) -> str:
    match = re.search(r'name=csrf value="([^"]*)"', page)
    assert match is not None, page
    return html.unescape(match.group(1))


def _state(path: str) -> str:
    return parse_qs(urlsplit(path).query)["state"][0]


async def _raw_get(h: LinkHarness, target: bytes) -> int:
    """Send one request line as bytes (no client re-quotes it); the status of the answer."""
    reader, writer = await asyncio.open_connection(h.client.server.host, h.client.server.port)
    try:
        writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1])


# --- only GET finishes a link; every other method is refused -----------------------------------


async def test_head_on_the_callback_does_nothing_and_the_members_get_still_works(
    h: LinkHarness,
) -> None:
    query = await h.consent("alice")
    response = await h.client.head("/callback", params=query)
    assert response.status == 405
    await _nothing_written(h)
    status, page = await h.callback(query)
    assert status == 200, page
    assert await h.count("accounts") == 1


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/link"), ("PUT", "/link"), ("DELETE", "/link"),
    ("GET", "/link/continue"), ("HEAD", "/link/continue"), ("PUT", "/link/continue"),
    ("HEAD", "/callback"), ("POST", "/callback"), ("PUT", "/callback"), ("DELETE", "/callback"),
])
async def test_other_methods_are_405(h: LinkHarness, method: str, path: str) -> None:
    response = await h.client.request(method, path, params={"state": _state(await h.link_path())})
    assert response.status == 405
    await _nothing_written(h)


# --- a forwarded link shows whose it is before anything happens --------------------------------


async def test_link_page_names_the_member_and_changes_nothing(h: LinkHarness) -> None:
    path = await h.link_path(member_name="Ann <The Admin>")
    response = await h.client.get(path)
    assert response.status == 200
    page = await response.text()
    text = _text(page)
    assert "You are linking Spotify to Discord member Ann <The Admin>." in text
    assert "<The Admin>" not in page  # escaped
    assert "Continue to Spotify" in text
    assert h.fake_log() == []  # Spotify was not even asked
    await _nothing_written(h)


async def test_link_page_without_a_name_says_so_without_an_id(h: LinkHarness) -> None:
    response = await h.client.get(await h.link_path(user_id=987654321, member_name=None))
    text = _text(await response.text())
    assert "to the Discord account this link was made for" in text
    assert "987654321" not in text


async def test_continue_is_a_303_to_spotify_and_uses_nothing_up(h: LinkHarness) -> None:
    path = await h.link_path()
    token = _form_token(await (await h.client.get(path)).text())
    response = await h.client.post("/link/continue", data={"state": _state(path), "csrf": token},
                                   allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith(f"{h.fake.url}/authorize?")
    await _nothing_written(h)


@pytest.mark.parametrize("token", ["missing", "made up", "another state's"])
async def test_continue_needs_the_token_of_its_own_page(h: LinkHarness, token: str) -> None:
    path = await h.link_path()
    form = {"state": _state(path)}
    if token == "made up":
        form["csrf"] = "A" * 43
    elif token == "another state's":
        other = await h.link_path(user_id=1002)
        form["csrf"] = _form_token(await (await h.client.get(other)).text())
    response = await h.client.post("/link/continue", data=form, allow_redirects=False)
    assert response.status == 400
    assert "Location" not in response.headers
    await _nothing_written(h)


async def test_success_page_names_the_discord_member(h: LinkHarness) -> None:
    query = await h.consent("alice")  # the harness's member is "Ann"
    status, page = await h.callback(query)
    assert status == 200, page
    assert "is now linked to Discord member Ann in SoundSync" in _text(page)


# --- a bad code is the member's dead end, not Spotify's outage ---------------------------------


@pytest.mark.parametrize("code", ["made up", "another state's"])
async def test_a_bad_code_is_a_400_that_keeps_the_link_usable(h: LinkHarness, code: str) -> None:
    query = await h.consent("alice")
    if code == "made up":
        query["code"] = "not-a-code"
    else:  # issued for another state, hence for another PKCE verifier
        query["code"] = (await h.consent("alice", user_id=1002))["code"]
    status, page = await h.callback(query)
    assert status == 400
    text = _text(page)
    assert "This link failed" in text
    assert "Start again from /link" in text
    assert "did not answer" not in text
    await _nothing_written(h)  # the state is free again: the member's link still works
    metrics = await h.metrics()
    assert metrics["soundsync_links_total", frozenset({("outcome", "bad_code")})] == 1


# --- logs: nothing forged, nothing secret ------------------------------------------------------


async def test_access_log_escapes_control_characters(
    h: LinkHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    forged = b'/x%0D%0A127.0.0.1 "GET /admin HTTP/1.1" 200'
    await _raw_get(h, forged.replace(b" ", b"%20"))
    await _raw_get(h, b"/y\x00z\x1b[2J")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 2
    assert all(line.isprintable() for line in lines), lines
    assert "/x\\x0d\\x0a127.0.0.1" in lines[0]


async def test_an_over_long_callback_is_refused_quietly(
    h: LinkHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = "sEcReTcOdE" + "x" * 20_000
    status = await _raw_get(h, f"/callback?code={code}&state=s".encode())
    assert status in (400, 414)
    assert "sEcReTcOdE" not in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    await _nothing_written(h)


# --- headers and /metrics ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["link page", "/link?state=forged", "/callback?error=x",
                                    "/nowhere", "/healthz"])
async def test_every_answer_forbids_framing_and_sniffing(h: LinkHarness, target: str) -> None:
    path = await h.link_path() if target == "link page" else target
    headers = (await h.client.get(path)).headers
    csp = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


async def test_metrics_token_guards_metrics_when_set(h: LinkHarness) -> None:
    assert (await h.client.get("/metrics")).status == 200  # unset: open, as before
    settings = h.settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    app = create_app(settings, h.pool, gateway=h.gateway, vault=h.vault)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for authorization in (None, "Bearer wrong", "Basic scrape-me", "scrape-me"):
            headers = {"Authorization": authorization} if authorization else {}
            response = await client.get("/metrics", headers=headers)
            assert response.status == 401, authorization
            assert "soundsync_" not in await response.text()
        response = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert response.status == 200
        assert "# TYPE soundsync_links_total counter" in await response.text()
