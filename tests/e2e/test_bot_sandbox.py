"""``soundsync run --sandbox``: the whole product against the local fakes, tour included."""

from __future__ import annotations

import socket

import asyncpg
import pytest

from soundsync_cli.sandbox import run_sandbox
from soundsync_core.settings import load_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_sandbox_links_bob_and_answers_matches_and_tribes(
    server_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # run_sandbox points discord.py at its fake itself; monkeypatch restores the globals after.
    import discord
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    settings = load_settings(_env_file=None, port=free_port())
    sandbox = run_sandbox(settings, server_url)
    try:
        running = await anext(sandbox)
        assert running.running.bot.is_ready()
        # The sandbox's members past Spotify: lia linked Last.fm, leo ListenBrainz.
        conn = await asyncpg.connect(running.database_url)
        try:
            linked = await conn.fetch(
                """SELECT a.user_id, a.source, a.external_id, count(p.user_id) AS profiles
                   FROM accounts a LEFT JOIN profiles p USING (user_id, source)
                   WHERE a.source IN ('lastfm', 'listenbrainz')
                   GROUP BY a.user_id, a.source, a.external_id ORDER BY a.source""")
        finally:
            await conn.close()
        assert [(r["user_id"], r["source"], r["external_id"], r["profiles"]) for r in linked] == [
            (running.members["lia"].id, "lastfm", "lia-lastfm", 1),
            (running.members["leo"].id, "listenbrainz", "leo-listenbrainz", 1),
        ]
    finally:
        await sandbox.aclose()
    out = capsys.readouterr().out
    assert out.startswith("sandbox is up:")
    assert "fake Last.fm" in out
    assert "fake ListenBrainz" in out
    assert "/callback answered HTTP 200" in out
    assert "bob's DM: Your Spotify account is linked!" in out
    assert "/recluster as ada → ✅ Recluster finished" in out
    assert "/matches → " in out
    assert "% match" in out
    assert "/tribes → " in out
