"""Re-ingestion of linked members, token refresh, app facts, NOTIFY, and no plaintext tokens."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest

from soundsync_core.db.pool import connect
from soundsync_core.repositories import accounts, app_state
from soundsync_core.services.ingestion import (
    EXPIRED,
    INGESTED,
    QUOTA_EXCEEDED,
    RefreshReport,
    refresh_stale_profiles,
)
from soundsync_core.services.notifications import (
    LINK_CHANNEL,
    LINK_EXPIRED,
    LinkEvent,
    listen_for_links,
    notify_link,
)
from soundsync_core.sources.base import SourceRegistry
from soundsync_core.sources.spotify_gateway import PauseGate, SpotifyGateway
from soundsync_core.sources.spotify_source import SpotifySource, sync_app_facts
from tests.integration.link_harness import LinkHarness

pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")


async def _refresh(h: LinkHarness, **kwargs: object) -> RefreshReport:
    options = {"older_than": timedelta(0), "limit": 10, "stagger": 0.0, **kwargs}
    sources = SourceRegistry([SpotifySource(h.pool, h.gateway)])
    return await refresh_stale_profiles(h.pool, sources, h.vault, **options)


async def test_refresh_after_expiry_keeps_the_old_refresh_token(h: LinkHarness) -> None:
    assert (await h.link("alice"))[0] == 200
    async with h.pool.acquire() as conn:
        _, before = await accounts.load_account(conn, h.vault, 1001, "spotify")
        ingested_before = await conn.fetchval("SELECT last_ingested_at FROM accounts")
    h.fake.expire_access_tokens("alice")
    h.fake.refresh_omits_token = True
    report = await _refresh(h)
    assert report.outcomes == {INGESTED: 1}
    async with h.pool.acquire() as conn:
        _, after = await accounts.load_account(conn, h.vault, 1001, "spotify")
        assert await conn.fetchval("SELECT last_ingested_at FROM accounts") > ingested_before
    assert after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token


async def test_invalid_grant_marks_the_account_expired_and_asks_to_relink(h: LinkHarness) -> None:
    assert (await h.link("alice"))[0] == 200
    await h.wait_for_events(1)
    h.fake.expire_access_tokens("alice")
    h.fake.set_mode("expired_refresh")
    report = await _refresh(h)
    assert report.outcomes == {EXPIRED: 1}
    async with h.pool.acquire() as conn:
        status = await accounts.account_status(conn, 1001)
        assert await conn.fetchval("SELECT refresh_token_enc FROM accounts") is None
    assert status is not None
    assert status.status == "expired"
    assert not status.usable
    events = await h.wait_for_events(2)
    assert events[1].event == LINK_EXPIRED
    assert (await _refresh(h)).outcomes == {}  # expired accounts are not retried


async def test_stale_selection_and_stagger(h: LinkHarness) -> None:
    assert (await h.link("alice", 1001))[0] == 200
    assert (await h.link("alice", 1002))[0] == 200
    assert (await _refresh(h, older_than=timedelta(hours=1))).outcomes == {}
    started = time.monotonic()
    report = await _refresh(h, stagger=0.3)
    assert report.outcomes == {INGESTED: 2}
    assert time.monotonic() - started >= 0.3


async def test_quota_stops_the_run_and_pauses_other_processes(h: LinkHarness) -> None:
    assert (await h.link("alice", 1001))[0] == 200
    assert (await h.link("alice", 1002))[0] == 200
    h.fake.set_mode("quota_exceeded", retry_after=3600)
    report = await _refresh(h)
    assert report.outcomes == {QUOTA_EXCEEDED: 1}
    assert report.stopped_early == ["spotify"]
    fact = await app_state.get_fact(h.pool, app_state.SPOTIFY_QUOTA_PAUSED_UNTIL)
    assert fact["retry_after"] == 3600
    other_process = SpotifyGateway(h.settings, gate=PauseGate())
    await sync_app_facts(h.pool, other_process)
    assert other_process.gate.remaining() > 3500
    async with h.pool.acquire() as conn:
        assert (await accounts.account_status(conn, 1002)).usable  # nobody is blamed


async def test_no_plaintext_token_anywhere(
    h: LinkHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pages = [(await h.link("alice", 1001))[1]]
    h.fake.set_mode("development")
    pages.append((await h.link("bob", 1002))[1])
    h.fake.set_mode("full")
    h.fake.expire_access_tokens()
    await _refresh(h)  # refreshes alice's token: more secrets issued
    issued = h.fake.state.tokens
    secrets = [*issued.access, *issued.refresh, *issued.codes]
    assert len(secrets) >= 5
    tables = await h.pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    dump = []
    for table in tables:
        rows = await h.pool.fetch(
            f'SELECT row_to_json(t)::text AS j FROM "{table["tablename"]}" t')  # noqa: S608
        dump += [r["j"] for r in rows]
    everything = "\n".join([*dump, *pages, caplog.text])
    assert await h.pool.fetchval("SELECT count(*) FROM accounts WHERE access_token_enc IS NOT NULL")
    for secret in secrets:
        assert secret not in everything
        assert secret.encode().hex() not in everything  # bytea shows as hex


async def test_listener_on_a_connection_survives_bad_payloads_and_failing_callbacks(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[LinkEvent] = []
    arrived = asyncio.Event()

    async def callback(event: LinkEvent) -> None:
        if event.user_id == 1:
            raise RuntimeError("the DM failed")
        received.append(event)
        arrived.set()

    listen_conn, send_conn = await connect(db_url), await connect(db_url)
    try:
        listener = await listen_for_links(listen_conn, callback)
        async with listener:
            await send_conn.execute("SELECT pg_notify($1, 'not json')", LINK_CHANNEL)
            await notify_link(send_conn, LinkEvent(1, None, "spotify"))
            async with send_conn.transaction():
                await notify_link(send_conn, LinkEvent(2, 9, "spotify"))
            async with asyncio.timeout(5):
                await arrived.wait()
        assert received == [LinkEvent(2, 9, "spotify")]
        assert "malformed" in caplog.text
        assert "callback failed for member 1" in caplog.text
    finally:
        await listen_conn.close()
        await send_conn.close()
