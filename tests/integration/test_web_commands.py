"""``soundsync link-url`` and ``soundsync web`` through their functions, on a real database."""

from __future__ import annotations

import argparse
import asyncio
import socket
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest
from cryptography.fernet import Fernet

from soundsync_cli import web_commands
from soundsync_core.settings import ConfigError, Settings, load_settings


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database_url=db_url, spotify_client_id="client-id",
        soundsync_secret_key=Fernet.generate_key().decode(),
        public_base_url="https://soundsync.example/",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_link_url_creates_a_state_for_the_member(
    settings: Settings, db_url: str, pool: asyncpg.Pool
) -> None:
    url = await web_commands.link_url(settings, db_url, 42, 7)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://soundsync.example/link"
    state = parse_qs(parts.query)["state"][0]
    row = await pool.fetchrow("SELECT user_id, guild_id FROM oauth_states")
    assert (row["user_id"], row["guild_id"]) == (42, 7)
    assert state.encode() not in (await pool.fetchval("SELECT state_hash FROM oauth_states"))


def test_link_url_refuses_without_a_key(db_url: str) -> None:
    args = argparse.Namespace(user_id=1, guild=None)
    with pytest.raises(ConfigError, match="SOUNDSYNC_SECRET_KEY"):
        web_commands.run_link_url(args, load_settings(database_url=db_url))


async def test_web_serves_until_stopped(settings: Settings, db_url: str) -> None:
    port, stop = _free_port(), asyncio.Event()
    server = asyncio.create_task(
        web_commands.serve(settings, db_url, host="127.0.0.1", port=port, stop=stop))
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the web server never answered")
    stop.set()
    await asyncio.wait_for(server, 10)
