"""The real SoundSync bot against the fake Discord and a real PostgreSQL, with a seeded community.

Import the fixture into a test module with ``from tests.e2e.bot_fixtures import running_soundsync``
(``# noqa: F401``) and ask for ``sync`` in a test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import discord
import pytest
from cryptography.fernet import Fernet

from bot.bot import SoundSyncBot
from bot.errors import ERROR_EVENT
from soundsync_core.security.vault import TokenVault
from soundsync_core.services.export_import import SPOTIFY_EXPORT
from soundsync_core.services.importer import PROFILE_IMPORT, import_profiles
from soundsync_core.services.recluster import recluster
from soundsync_core.settings import Settings, load_settings
from soundsync_core.sources.base import ListeningSource, SourceRegistry
from soundsync_core.sources.spotify_gateway import SpotifyGateway
from soundsync_core.sources.spotify_source import SpotifySource
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_interactions import FakeInteraction
from soundsync_fakes.discord_state import DefaultWorld, FakeUser
from tests.e2e.discord_harness import running_bot

JAZZ = ["Coltrane", "Monk", "Mingus", "Davis", "Evans", "Hancock", "Shorter", "Rollins"]
METAL = ["Opeth", "Mastodon", "Gojira", "Tool", "Meshuggah", "Isis", "Neurosis", "Cult of Luna"]
POP = ["Dua Lipa", "Robyn"]
# Extra guild members (username, group); bob, cyd and the extras are jazz or metal fans.
EXTRAS = [("dee", JAZZ), ("eve", JAZZ), ("fay", METAL), ("gus", METAL), ("hal", JAZZ)]
AUDIO = {"acousticness": 0.6, "instrumentalness": 0.5, "danceability": 0.4, "energy": 0.5,
         "loudness": -9.0}


def profile_line(user: FakeUser, guild_id: int, artists: list[str], *, shift: int = 0) -> str:
    """A §9 import line: the group's artists (rotated by ``shift``) plus two pop artists."""
    own = artists[shift:] + artists[:shift]
    ranked = own[:4] + POP + own[4:]
    record = {
        "user_id": str(user.id),
        "display_name": user.global_name or user.username,
        "guild_ids": [str(guild_id)],
        "top_artists": [
            {"id": name.lower().replace(" ", "-"), "name": name, "rank": rank,
             "genres": ["jazz" if name in JAZZ else "metal" if name in METAL else "pop"]}
            for rank, name in enumerate(ranked, 1)
        ],
        "top_tracks": [
            {"id": f"t-{name.lower().replace(' ', '-')}", "name": f"{name} Song", "rank": rank,
             "artist_ids": [name.lower().replace(" ", "-")], "audio_features": AUDIO}
            for rank, name in enumerate(own[:3], 1)
        ],
    }
    return json.dumps(record)


@dataclass
class Failure:
    """An error the bot's handler dealt with, and whether it was an expected refusal."""

    error: Exception
    expected: bool


@dataclass
class Running:
    """The fake Discord, its world, the bot, the pool, and what went wrong."""

    fake: FakeDiscord
    world: DefaultWorld
    bot: SoundSyncBot
    pool: asyncpg.Pool
    settings: Settings
    extras: dict[str, FakeUser]
    failures: list[Failure] = field(default_factory=list)
    failed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def guild_id(self) -> int:
        return self.world.guild.id

    async def command(
        self, user: FakeUser, name: str, options: Mapping[str, Any] | None = None, *, dm: bool = False
    ) -> FakeInteraction:
        """Invoke a slash command as ``user`` in the seeded guild (or in their DM)."""
        guild = None if dm else self.guild_id
        return await self.fake.slash_command(user.id, guild, name, options=options)

    async def answer(self, interaction: FakeInteraction) -> Any:
        """The message that answers a deferred command (its first followup)."""
        await interaction.response()
        return await interaction.next_followup()

    async def seed(self, *, with_extras: bool = True, clustered: bool = True) -> None:
        """Import profiles for bob, cyd (jazz), ada (metal) and the extras; recluster the guild."""
        world, guild = self.world, self.guild_id
        lines = [
            profile_line(world.member, guild, JAZZ),
            profile_line(world.closed_dms_user, guild, JAZZ, shift=1),
            profile_line(world.admin, guild, METAL),
        ]
        if with_extras:
            lines += [profile_line(user, guild, group, shift=i + 2)
                      for i, (user, (_, group)) in enumerate(zip(self.extras.values(), EXTRAS, strict=True))]
        report = await import_profiles(self.pool, lines)
        assert not report.rejected
        if clustered:
            await recluster(self.pool, guild_id=guild)

    async def next_failure(self, timeout: float = 2.0) -> Failure:  # noqa: ASYNC109
        """The oldest failure not yet taken (the handler reports it after answering)."""
        async with asyncio.timeout(timeout):
            while not self.failures:
                self.failed.clear()
                await self.failed.wait()
        return self.failures.pop(0)

    def unexpected(self) -> list[Exception]:
        return [f.error for f in self.failures if not f.expected]


def bot_settings(fake: FakeDiscord, **overrides: Any) -> Settings:
    """Settings pointing at the fake, with a secret key generated for this run."""
    return load_settings(
        _env_file=None,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
        soundsync_secret_key=Fernet.generate_key().decode(),
        public_base_url="http://127.0.0.1:8080",
        **overrides,
    )


def bot_sources(
    pool: asyncpg.Pool, settings: Settings, *extra: ListeningSource
) -> SourceRegistry:
    """The registry the composition root builds with Spotify set up (nothing is fetched by
    these tests: profiles are imported), plus ``extra`` sources."""
    return SourceRegistry([SPOTIFY_EXPORT, PROFILE_IMPORT,
                           SpotifySource(pool, SpotifyGateway(settings)), *extra])


@pytest.fixture(name="sync")
async def running_soundsync(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Running]:
    """The started bot with the default world plus five extra guild members (no profiles yet)."""
    async with FakeDiscord() as fake:
        world = fake.seed_default_world()
        extras = {name: fake.world.add_user(name, global_name=name.title()) for name, _ in EXTRAS}
        for user in extras.values():
            fake.world.add_member(world.guild.id, user.id)
        settings = bot_settings(fake)
        bot = SoundSyncBot(
            pool=pool, settings=settings, vault=TokenVault(settings.soundsync_secret_key),
            sources=bot_sources(pool, settings), guild_ready_timeout=0.01,
        )
        running = Running(fake, world, bot, pool, settings, extras)

        async def record(interaction: discord.Interaction, error: Exception, expected: bool) -> None:
            running.failures.append(Failure(error, expected))
            running.failed.set()

        bot.add_listener(record, f"on_{ERROR_EVENT}")
        async with running_bot(fake, bot, monkeypatch):
            yield running
        assert running.unexpected() == [], "the bot hit errors no test expected"
