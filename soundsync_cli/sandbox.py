"""``soundsync sandbox`` / ``run --sandbox``: the whole product on loopback, with no credentials.

Starts the project's fake Discord, Spotify, Last.fm and ListenBrainz, seeds a small world (one
server, a few members with listening profiles, one recluster), runs bot + web + scheduler
against them in their own database, links one member through Last.fm's web auth and one through
the ListenBrainz modal, and prints where everything is (URLs, member ids, the database). It can take
a short tour (link → consent → linked DM, /recluster, /matches, /tribes) printing what the bot
answered; :mod:`soundsync_cli.sandbox_repl` then lets a person act as any member.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from pydantic import SecretStr

from soundsync_cli.bootstrap import Running, serve
from soundsync_cli.runtime import open_pool
from soundsync_cli.sandbox_sources import (
    link_lastfm,
    link_listenbrainz,
    seed_lastfm,
    seed_listenbrainz,
)
from soundsync_core.db.databases import side_database
from soundsync_core.db.urls import mask_url
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import recluster
from soundsync_core.settings import Settings
from soundsync_fakes.browser import continue_to_provider
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_state import DefaultWorld, FakeUser
from soundsync_fakes.lastfm import FakeLastfm
from soundsync_fakes.listenbrainz import FakeListenBrainz
from soundsync_fakes.spotify import FakeSpotify

SANDBOX_DATABASE = "soundsync_sandbox"
GROUPS = {
    "jazz": ["Coltrane", "Monk", "Mingus", "Davis", "Evans", "Hancock"],
    "metal": ["Opeth", "Mastodon", "Gojira", "Tool", "Meshuggah", "Isis"],
}
# (username, group): the default world's ada, cyd and a few more; bob links during the tour.
SANDBOX_MEMBERS = [("ada", "metal"), ("cyd", "jazz"), ("dee", "jazz"), ("eve", "jazz"),
                   ("fay", "metal"), ("gus", "metal")]
# Members who link at start-up past Spotify: (username, group); their accounts at the fakes are
# "<name>-lastfm" and "<name>-listenbrainz".
LASTFM_MEMBER = ("lia", "jazz")
LISTENBRAINZ_MEMBER = ("leo", "metal")


def _profile_line(user: FakeUser, guild_id: int, group: str, shift: int) -> str:
    artists = GROUPS[group][shift:] + GROUPS[group][:shift]
    return json.dumps({
        "user_id": str(user.id), "display_name": user.global_name or user.username,
        "guild_ids": [str(guild_id)],
        "top_artists": [{"id": a.lower(), "name": a, "rank": r, "genres": [group]}
                        for r, a in enumerate(artists, 1)],
    })


def _seed_discord(fake: FakeDiscord) -> tuple[DefaultWorld, dict[str, FakeUser]]:
    world = fake.seed_default_world()
    users = {"ada": world.admin, "bob": world.member, "cyd": world.closed_dms_user}
    for name, _ in [*SANDBOX_MEMBERS, LASTFM_MEMBER, LISTENBRAINZ_MEMBER]:
        if name not in users:
            users[name] = fake.world.add_user(name, global_name=name.title())
            fake.world.add_member(world.guild.id, users[name].id)
    return world, users


def _seed_spotify(spotify: FakeSpotify) -> None:
    # One account per member, so anyone can link from the consent page in a browser. The app
    # has full access: Spotify's five-user allowlist of development mode does not apply.
    artists = {group: [spotify.add_artist(name, [group]) for name in names]
               for group, names in GROUPS.items()}
    for name, group in [("bob", "jazz"), *SANDBOX_MEMBERS]:
        spotify.add_user(f"{name}-spotify", name.title(), top_artists=artists[group])


@dataclass
class Sandbox:
    """Everything a sandbox runs, for the terminal and the tests to drive."""

    running: Running
    fake: FakeDiscord
    spotify: FakeSpotify
    lastfm: FakeLastfm
    listenbrainz: FakeListenBrainz
    world: DefaultWorld
    members: dict[str, FakeUser]  # by username
    database_url: str
    web_url: str

    def describe(self) -> str:
        """Where everything is: URLs, the guild, member ids, the database (password masked)."""
        admins = {self.world.admin.id}
        people = ", ".join(f"{name} {user.id}{' (admin)' if user.id in admins else ''}"
                           for name, user in self.members.items())
        return "\n".join([
            "sandbox is up:",
            f"  fake Discord  {self.fake.base_url}",
            f"  fake Spotify  {self.spotify.url}  (accounts: "
            f"{', '.join(self.spotify.catalog.users)})",
            f"  fake Last.fm  {self.lastfm.url}  ({LASTFM_MEMBER[0]} linked as "
            f"{LASTFM_MEMBER[0]}-lastfm)",
            f"  fake ListenBrainz  {self.listenbrainz.url}  ({LISTENBRAINZ_MEMBER[0]} linked as "
            f"{LISTENBRAINZ_MEMBER[0]}-listenbrainz)",
            f"  web           {self.web_url}  (link pages: /link?state=…)",
            f"  database      {mask_url(self.database_url)}",
            f"  guild         {self.world.guild.name}  id {self.world.guild.id}",
            f"  members       {people}",
        ])


def sandbox_settings(
    settings: Settings, fake: FakeDiscord, spotify: FakeSpotify,
    lastfm: FakeLastfm | None = None, listenbrainz: FakeListenBrainz | None = None,
) -> Settings:
    """The configured settings, with every external URL pointing at the local fakes."""
    base = f"http://127.0.0.1:{settings.port}"
    lastfm_settings = lastfm.settings_overrides() if lastfm is not None else {}
    if lastfm is not None:
        for secret in ("lastfm_api_key", "lastfm_api_secret"):
            lastfm_settings[secret] = SecretStr(lastfm_settings[secret])
    return settings.model_copy(update={
        **spotify.settings_overrides(),
        **lastfm_settings,
        **(listenbrainz.settings_overrides() if listenbrainz is not None else {}),
        "spotify_client_secret": SecretStr(spotify.client_secret),
        "discord_api_url": fake.api_url,
        "discord_gateway_url": fake.gateway_url,
        "discord_token": SecretStr(fake.bot_token),
        # A throwaway key: sandbox tokens are fake and the database is dropped next time.
        "soundsync_secret_key": SecretStr(Fernet.generate_key().decode()),
        "public_base_url": base,
        "spotify_redirect_uri": f"{base}/callback",
    })


async def run_sandbox(settings: Settings, server: str, *, tour: bool = True) -> AsyncIterator[Sandbox]:
    """Start the fakes and SoundSync; yields what is running (after the tour)."""
    port_base = f"http://127.0.0.1:{settings.port}"
    async with (FakeDiscord() as fake, FakeSpotify(redirect_uri=f"{port_base}/callback") as spotify,
                FakeLastfm() as lastfm, FakeListenBrainz() as listenbrainz):
        world, users = _seed_discord(fake)
        _seed_spotify(spotify)
        local = sandbox_settings(settings, fake, spotify, lastfm, listenbrainz)
        url = await side_database(server, SANDBOX_DATABASE, fresh=True)
        async with open_pool(local, url) as pool:
            lines = [_profile_line(users[name], world.guild.id, group, i)
                     for i, (name, group) in enumerate(SANDBOX_MEMBERS)]
            await import_profiles(pool, lines)
            await recluster(pool, guild_id=world.guild.id)
            async for running in serve(local, pool, with_web=True, host="127.0.0.1"):
                sandbox = Sandbox(running, fake, spotify, lastfm, listenbrainz, world, users, url,
                                  port_base)
                await link_past_spotify(sandbox)
                print(sandbox.describe(), flush=True)
                if tour:
                    await take_tour(fake, spotify, world)
                yield sandbox


async def link_past_spotify(sandbox: Sandbox) -> None:
    """Link the Last.fm member by web auth and the ListenBrainz member by the modal."""
    guild = sandbox.world.guild.id
    name, group = LASTFM_MEMBER
    seed_lastfm(sandbox.lastfm, f"{name}-lastfm", GROUPS[group])
    await link_lastfm(sandbox.fake, sandbox.lastfm, sandbox.members[name], guild, f"{name}-lastfm")
    name, group = LISTENBRAINZ_MEMBER
    login = seed_listenbrainz(sandbox.listenbrainz, f"{name}-listenbrainz", GROUPS[group])
    await link_listenbrainz(sandbox.fake, sandbox.members[name], guild, login.username, login.token)


async def take_tour(fake: FakeDiscord, spotify: FakeSpotify, world: DefaultWorld) -> list[str]:
    """Link bob through web + fake Spotify, recluster, try /matches and /tribes; prints each step."""
    steps: list[str] = []

    def say(text: str) -> None:
        steps.append(text)
        print(f"  {text}")

    guild, bob = world.guild.id, world.member.id
    link = await _followup(await fake.slash_command(bob, guild, "link"))
    url = link["components"][0]["components"][0]["url"]
    say(f"/link as bob → {url.split('?')[0]}?state=…")
    async with aiohttp.ClientSession() as http:
        authorize = await continue_to_provider(http, url)
        callback = await spotify.consent(authorize, "bob-spotify")
        async with http.get(callback) as response:
            say(f"Spotify consent → /callback answered HTTP {response.status}")
    dm = await fake.next_dm(bob, timeout=10)
    say(f"bob's DM: {dm.content}")
    reclustered = await fake.slash_command(world.admin.id, guild, "recluster")
    await reclustered.response(timeout=10)
    assert reclustered.original_message_id is not None
    done = await fake.wait_for_edit(reclustered.original_message_id, edits=2, timeout=30)
    while "finished" not in done.content and "⏳" in done.content:
        done = await fake.wait_for_edit(done.id, edits=done.edits + 1, timeout=30)
    say(f"/recluster as ada → {done.content}")
    matches = await _followup(await fake.slash_command(bob, guild, "matches"))
    say(f"/matches → {matches['embeds'][0]['title'] if matches.get('embeds') else matches['content']}")
    tribes = await _followup(await fake.slash_command(bob, guild, "tribes"))
    say(f"/tribes → {', '.join(f['name'] for f in tribes['embeds'][0]['fields'])}")
    return steps


async def _followup(interaction: Any) -> dict[str, Any]:
    await interaction.response(timeout=10)
    message = await interaction.next_followup(timeout=10)
    return message.data
