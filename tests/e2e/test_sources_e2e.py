"""Issue #10 end to end: ``soundsync run`` against the fake Discord, Spotify, Last.fm and
ListenBrainz. One member links Last.fm (web auth through the fake), another ListenBrainz (the
modal and a user token), a third Spotify; all three appear in each other's ``/matches`` with
the artists they share as reasons; ``/unlink`` of the Last.fm source removes only it. The
scheduled weekly job refreshes the Last.fm and ListenBrainz accounts as well.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import asyncpg
import discord
import pytest

from soundsync_cli import bot_commands
from soundsync_cli.bootstrap import Running
from soundsync_cli.sandbox import sandbox_settings
from soundsync_cli.sandbox_sources import (
    button_url,
    link_answer,
    link_lastfm,
    link_listenbrainz,
    seed_lastfm,
    seed_listenbrainz,
)
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import recluster
from soundsync_core.services.scheduler import WEEKLY_RECLUSTER
from soundsync_core.settings import load_settings
from soundsync_fakes.browser import continue_to_provider
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_state import FakeUser
from soundsync_fakes.lastfm import FakeArtist, FakeLastfm
from soundsync_fakes.listenbrainz import FakeListenBrainz
from soundsync_fakes.spotify import FakeSpotify

AMBIENT = ["Nils Frahm", "Ólafur Arnalds", "Max Richter", "Jóhann Jóhannsson", "Hania Rani",
           "Brian Eno", "Stars of the Lid", "Grouper", "Julianna Barwick", "Tim Hecker"]
OTHERS = {
    "jaz": ["Coltrane", "Monk", "Mingus", "Davis", "Evans", "Hancock", "Shorter", "Rollins"],
    "jen": ["Monk", "Mingus", "Davis", "Evans", "Coltrane", "Rollins", "Hancock", "Shorter"],
    "mel": ["Opeth", "Mastodon", "Gojira", "Tool", "Meshuggah", "Isis", "Neurosis", "Cult of Luna"],
    "max": ["Mastodon", "Gojira", "Tool", "Opeth", "Isis", "Meshuggah", "Cult of Luna", "Neurosis"],
    "pop": ["Robyn", "Dua Lipa", "Lorde", "Charli XCX", "Carly Rae Jepsen", "Lizzo", "SZA"],
}
TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class World:
    running: Running
    fake: FakeDiscord
    spotify: FakeSpotify
    lastfm: FakeLastfm
    listenbrainz: FakeListenBrainz


@pytest.fixture
def discord_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    # The composition root points discord.py's process-wide URLs at the fake; restore them after.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


@pytest.fixture
async def world(db_url: str, discord_globals: None) -> AsyncIterator[World]:
    settings = load_settings(_env_file=None, port=_free_port(), spotify_workers=0)
    redirect = f"http://127.0.0.1:{settings.port}/callback"
    async with (FakeDiscord() as fake, FakeSpotify(redirect_uri=redirect) as spotify,
                FakeLastfm() as lastfm, FakeListenBrainz() as listenbrainz):
        local = sandbox_settings(settings, fake, spotify, lastfm, listenbrainz)
        serving = bot_commands.serve(local, db_url, with_web=True, host="127.0.0.1")
        running = await anext(serving)
        try:
            yield World(running, fake, spotify, lastfm, listenbrainz)
        finally:
            await serving.aclose()


async def _link_spotify(world: World, user: FakeUser, guild: int, account: str) -> int:
    url = button_url(await link_answer(world.fake, user, guild), "Link Spotify")
    async with aiohttp.ClientSession() as http:
        authorize = await continue_to_provider(http, url)
        callback = await world.spotify.consent(authorize, account)
        async with http.get(callback) as response:
            return response.status


async def _followup(interaction: object) -> discord.Message:
    await interaction.response(timeout=TIMEOUT)  # type: ignore[attr-defined]
    return await interaction.next_followup(timeout=TIMEOUT)  # type: ignore[attr-defined]


async def _match_pages(fake: FakeDiscord, user: FakeUser, guild: int) -> list[dict]:
    """Every page of the member's /matches (title and reasons)."""
    page = await _followup(await fake.slash_command(user.id, guild, "matches"))
    total = int(page.embeds[0]["description"].rsplit(" ", 1)[1])
    pages = [page.embeds[0]]
    for _ in range(total - 1):
        click = await fake.click_button(user.id, fake.message(page.id), "matches:next")
        await click.response(timeout=TIMEOUT)
        pages.append(fake.message(page.id).embeds[0])
    return pages


async def _wait_for(pool: asyncpg.Pool, query: str, *args: object) -> None:
    async with asyncio.timeout(30):
        while not await pool.fetchval(query, *args):  # noqa: ASYNC110 (the database has no event)
            await asyncio.sleep(0.1)


async def test_three_members_on_three_sources_match_and_unlink_one_source(
    world: World, pool: asyncpg.Pool
) -> None:
    fake = world.fake
    guild = fake.seed_default_world().guild.id
    names = {"spo": "Spotty", "lfm": "Scrobbler", "lbz": "Brainy"}
    users = {key: fake.world.add_user(key, global_name=name) for key, name in names.items()}
    others = {key: fake.world.add_user(key, global_name=key.title()) for key in OTHERS}
    for user in [*users.values(), *others.values()]:
        fake.world.add_member(guild, user.id)
    report = await import_profiles(pool, [json.dumps({
        "user_id": str(others[key].id), "display_name": key.title(), "guild_ids": [str(guild)],
        "top_artists": [{"id": n.lower(), "name": n, "rank": r} for r, n in enumerate(artists, 1)],
    }) for key, artists in OTHERS.items()])
    assert report.imported == len(OTHERS)

    spotify_ids = [world.spotify.add_artist(name, ["ambient"]) for name in AMBIENT]
    world.spotify.add_user("spo-sp", "Spotty", top_artists=spotify_ids, allowlisted=True)
    assert await _link_spotify(world, users["spo"], guild, "spo-sp") == 200
    seed_lastfm(world.lastfm, "lfm-fm", AMBIENT[3:] + AMBIENT[:3])
    assert await link_lastfm(fake, world.lastfm, users["lfm"], guild, "lfm-fm") == 200
    login = seed_listenbrainz(world.listenbrainz, "lbz-lb", AMBIENT[::-1])
    answer = await link_listenbrainz(fake, users["lbz"], guild, "LBZ-lb", login.token)
    assert answer.ephemeral
    assert "ListenBrainz account **lbz-lb** linked" in answer.content
    assert "not kept" in answer.content
    for key, service in (("spo", "Spotify"), ("lfm", "Last.fm"), ("lbz", "ListenBrainz")):
        dm = await fake.next_dm(users[key].id, timeout=TIMEOUT)
        assert dm.content.startswith(f"Your {service} account is linked!")

    await recluster(pool, guild_id=guild)
    for key, user in users.items():
        pages = await _match_pages(fake, user, guild)
        best_two = {p["title"].split(" — ")[0] for p in pages[:2]}
        assert best_two == set(names.values()) - {names[key]}
        for page in pages[:2]:
            reasons = page["fields"][0]["value"]
            assert "**Artists:**" in reasons
            assert any(artist in reasons for artist in AMBIENT)

    profile = await _followup(await fake.slash_command(users["lfm"].id, guild, "profile"))
    sources = {f["name"]: f["value"] for f in profile.embeds[0]["fields"]}["Sources"]
    assert sources.startswith("**Last.fm** · last 12 months · refreshed <t:")

    lfm = users["lfm"].id
    prompt = await fake.slash_command(lfm, guild, "unlink", options={"source": "lastfm"})
    shown = await prompt.response(timeout=TIMEOUT)
    assert "removes **Last.fm**" in shown.data["content"]
    confirm = await fake.click_button(lfm, prompt.original, "confirm:yes")
    assert "no longer feeds your profile" in (await confirm.response(timeout=TIMEOUT)).data["content"]
    assert await pool.fetchval("SELECT count(*) FROM accounts WHERE user_id = $1", lfm) == 0
    assert await pool.fetchval("SELECT count(*) FROM profiles WHERE user_id = $1", lfm) == 0
    assert await pool.fetchval("SELECT count(*) FROM members WHERE user_id = $1", lfm) == 1
    kept = await pool.fetch("SELECT user_id, source FROM accounts ORDER BY source")
    assert [(r["user_id"], r["source"]) for r in kept] == [
        (users["lbz"].id, "listenbrainz"), (users["spo"].id, "spotify")]


async def test_the_weekly_job_refreshes_lastfm_and_listenbrainz_accounts(
    world: World, pool: asyncpg.Pool
) -> None:
    fake = world.fake
    guild = fake.seed_default_world().guild.id
    fm, lb = fake.world.add_user("fm"), fake.world.add_user("lb")
    for user in (fm, lb):
        fake.world.add_member(guild, user.id)
    seed_lastfm(world.lastfm, "fm-user", AMBIENT)
    assert await link_lastfm(fake, world.lastfm, fm, guild, "fm-user") == 200
    # ListenBrainz has computed nothing yet: the link is kept, the profile comes later.
    world.listenbrainz.add_user("lb-user", "lb-token-of-the-test")
    answer = await link_listenbrainz(fake, lb, guild, "lb-user", "lb-token-of-the-test")
    assert "not computed your listening statistics yet" in answer.content
    assert await pool.fetchval("SELECT count(*) FROM profiles WHERE user_id = $1", lb.id) == 0
    assert await pool.fetchval("SELECT status FROM accounts WHERE user_id = $1", lb.id) == "active"

    since = await pool.fetchval(
        """UPDATE accounts SET last_ingested_at = now() - interval '8 days'
           WHERE user_id = $1 RETURNING last_ingested_at""", fm.id)
    world.lastfm.add_user("fm-user", [FakeArtist("Grouper", 999)])
    seed_listenbrainz(world.listenbrainz, "lb-user", AMBIENT)
    world.listenbrainz.state.users["lb-user"].token = None  # the token was never kept anyway
    job = world.running.scheduler.get_job(WEEKLY_RECLUSTER)
    assert job is not None
    job.modify(next_run_time=datetime.now(UTC))

    await _wait_for(pool, "SELECT last_ingested_at > $2 FROM accounts WHERE user_id = $1",
                    fm.id, since)
    await _wait_for(pool, "SELECT count(*) > 0 FROM profiles WHERE user_id = $1", lb.id)
    top = await pool.fetchval("SELECT artist_ids[1] FROM profiles WHERE user_id = $1", fm.id)
    assert top == "name:grouper"
