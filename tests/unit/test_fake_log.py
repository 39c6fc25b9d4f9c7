"""SOUNDSYNC_FAKE_LOG, read through the settings, makes every fake log without being told."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.lastfm import FakeLastfm
from soundsync_fakes.listenbrainz import FakeListenBrainz
from soundsync_fakes.spotify import FakeSpotify

KEYS = {"service", "method", "path", "status", "request", "response"}


async def test_fakes_built_without_a_path_log_to_the_configured_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "fakes.jsonl"
    monkeypatch.setenv("SOUNDSYNC_FAKE_LOG", str(log))
    async with FakeDiscord() as discord_fake, FakeSpotify(seed=3) as spotify_fake, \
            FakeLastfm() as lastfm_fake, FakeListenBrainz() as listenbrainz_fake, \
            aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {discord_fake.bot_token}"}
        async with http.get(f"{discord_fake.api_url}/users/@me", headers=headers) as response:
            assert response.status == 200
        for url in (f"{spotify_fake.url}/v1/me",
                    f"{lastfm_fake.url}/2.0/?method=user.getTopArtists&user=x&format=json",
                    f"{listenbrainz_fake.url}/1/validate-token"):
            async with http.get(url) as response:
                assert response.status >= 400  # no credentials: each fake's own refusal
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert all(set(entry) == KEYS for entry in entries)
    assert [e["service"] for e in entries] == ["discord", "spotify", "lastfm", "listenbrainz"]
    assert entries[0]["response"]["id"]


async def test_an_explicit_path_wins_over_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDSYNC_FAKE_LOG", str(tmp_path / "configured.jsonl"))
    async with FakeSpotify(seed=3, log_path=tmp_path / "explicit.jsonl") as fake, \
            aiohttp.ClientSession() as http, http.get(f"{fake.url}/v1/me") as response:
        assert response.status == 401
    assert not (tmp_path / "configured.jsonl").exists()
    assert len((tmp_path / "explicit.jsonl").read_text(encoding="utf-8").splitlines()) == 1
