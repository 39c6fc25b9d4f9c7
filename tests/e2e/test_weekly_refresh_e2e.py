"""The weekly refresh as production runs it: built by the composition root, fired by its scheduler.

``soundsync run`` (``bot_commands.serve``) starts the bot, the web app and the scheduler against
the fake Discord and the fake Spotify. Three members link through the web flow: one while
Spotify is failing (a "pending" link: tokens, no profile), one whose profile then goes stale,
one whose refresh token dies. Firing the scheduler's weekly job by its id must fetch the first
two through the fake Spotify and send the third the "link again" DM.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import asyncpg
import discord
import pytest

from soundsync_cli import bot_commands
from soundsync_cli.bootstrap import Running
from soundsync_cli.sandbox import sandbox_settings
from soundsync_core.services.scheduler import WEEKLY_RECLUSTER
from soundsync_core.settings import load_settings
from soundsync_fakes.browser import continue_to_provider
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_state import FakeUser
from soundsync_fakes.spotify import FakeSpotify

JAZZ = ["Coltrane", "Monk", "Mingus", "Davis"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def discord_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    # The composition root points discord.py's process-wide URLs at the fake; restore them after.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


async def _link(fake: FakeDiscord, spotify: FakeSpotify, user: FakeUser, guild: int,
                spotify_user: str) -> int:
    """/link in Discord → our /link page, Continue → the fake Spotify's consent → our /callback."""
    interaction = await fake.slash_command(user.id, guild, "link")
    await interaction.response(timeout=10)
    message = await interaction.next_followup(timeout=10)
    url = message.data["components"][0]["components"][0]["url"]
    async with aiohttp.ClientSession() as http:
        authorize = await continue_to_provider(http, url)
        callback = await spotify.consent(authorize, spotify_user)
        async with http.get(callback) as response:
            return response.status


async def _wait_for(pool: asyncpg.Pool, query: str, *args: object, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not await pool.fetchval(query, *args):  # noqa: ASYNC110 (the database has no event)
            await asyncio.sleep(0.1)


@pytest.fixture
async def production(
    db_url: str, discord_globals: None
) -> AsyncIterator[tuple[Running, FakeDiscord, FakeSpotify]]:
    settings = load_settings(_env_file=None, port=_free_port(), spotify_workers=0)
    redirect = f"http://127.0.0.1:{settings.port}/callback"
    async with FakeDiscord() as fake, FakeSpotify(redirect_uri=redirect) as spotify:
        serving = bot_commands.serve(sandbox_settings(settings, fake, spotify), db_url,
                                     with_web=True, host="127.0.0.1")
        running = await anext(serving)
        try:
            yield running, fake, spotify
        finally:
            await serving.aclose()


async def test_the_scheduled_weekly_job_refreshes_pending_and_stale_links_and_asks_expired_to_relink(
    production: tuple[Running, FakeDiscord, FakeSpotify], pool: asyncpg.Pool
) -> None:
    running, fake, spotify = production
    world = fake.seed_default_world()
    guild = world.guild.id
    pending, stale, expired = (fake.world.add_user(name) for name in ("pam", "sam", "exa"))
    for user in (pending, stale, expired):
        fake.world.add_member(guild, user.id)
    artists = [spotify.add_artist(name, ["jazz"]) for name in JAZZ]
    for name in ("pam-sp", "sam-sp", "exa-sp"):
        spotify.add_user(name, name, top_artists=artists, allowlisted=True)

    # Spotify fails the first link's /me and all our retries of it (5xx): a "pending" link.
    spotify.set_mode("server_error", count=4)
    assert await _link(fake, spotify, pending, guild, "pam-sp") == 200
    assert await _link(fake, spotify, stale, guild, "sam-sp") == 200
    assert await _link(fake, spotify, expired, guild, "exa-sp") == 200
    assert await pool.fetchval("SELECT count(*) FROM profiles WHERE user_id = $1", pending.id) == 0
    stale_since = await pool.fetchval(
        """UPDATE accounts SET last_ingested_at = now() - interval '8 days'
           WHERE user_id = ANY($1::bigint[]) RETURNING last_ingested_at""",
        [stale.id, expired.id],
    )
    spotify.expire_access_tokens("exa-sp")
    spotify.expire_refresh_tokens("exa-sp")
    linked = await fake.next_dm(expired.id, timeout=10)
    assert "linked" in linked.content

    job = running.scheduler.get_job(WEEKLY_RECLUSTER)
    assert job is not None
    job.modify(next_run_time=datetime.now(UTC))

    await _wait_for(pool, "SELECT count(*) > 0 FROM profiles WHERE user_id = $1", pending.id)
    await _wait_for(pool, "SELECT last_ingested_at > $2 FROM accounts WHERE user_id = $1",
                    stale.id, stale_since)
    await _wait_for(pool, "SELECT status = 'expired' FROM accounts WHERE user_id = $1", expired.id)
    relink = await fake.next_dm(expired.id, timeout=10)
    assert "/link again" in relink.content
