"""Linking ListenBrainz in Discord: /link's button opens a modal (username + user token); the
token is checked with validate-token and dropped. Every failure tells the member plainly and
writes no account and no profile; /link names the sources that are not set up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest

from bot.bot import SoundSyncBot
from soundsync_cli.sandbox_sources import link_answer, link_listenbrainz, seed_listenbrainz
from soundsync_core.security.vault import TokenVault
from soundsync_core.sources.listenbrainz import ListenBrainzSource
from soundsync_core.sources.listenbrainz_client import ListenBrainzClient
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_state import DefaultWorld
from soundsync_fakes.listenbrainz import FakeListenBrainz
from tests.e2e.bot_fixtures import bot_settings, bot_sources
from tests.e2e.discord_harness import running_bot

ARTISTS = ["Opeth", "Mastodon", "Gojira", "Tool", "Meshuggah", "Isis", "Neurosis", "Cult of Luna",
           "Baroness", "Pelican", "Russian Circles"]


@dataclass
class Harness:
    fake: FakeDiscord
    world: DefaultWorld
    listenbrainz: FakeListenBrainz
    pool: asyncpg.Pool

    async def rows(self) -> dict[str, int]:
        return {table: await self.pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
                for table in ("accounts", "profiles", "members")}


@pytest.fixture
async def harness(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    async with FakeDiscord() as fake, FakeListenBrainz() as listenbrainz, \
            aiohttp.ClientSession() as http:
        world = fake.seed_default_world()
        settings = bot_settings(fake, **listenbrainz.settings_overrides())
        client = ListenBrainzClient(http, api_url=listenbrainz.api_url, user_agent="SoundSync test",
                                    retry_delay=0.0)
        sources = bot_sources(pool, settings, ListenBrainzSource(client))
        sources.add_missing("Last.fm", "LASTFM_API_KEY and LASTFM_API_SECRET")
        bot = SoundSyncBot(pool=pool, settings=settings,
                           vault=TokenVault(settings.soundsync_secret_key), sources=sources,
                           guild_ready_timeout=0.01)
        async with running_bot(fake, bot, monkeypatch):
            yield Harness(fake, world, listenbrainz, pool)


async def test_link_offers_the_sources_and_names_those_not_set_up(harness: Harness) -> None:
    answer = await link_answer(harness.fake, harness.world.member, harness.world.guild.id)
    assert answer.ephemeral
    labels = [b["label"] for row in answer.components for b in row["components"]]
    assert labels == ["Link Spotify", "Link ListenBrainz"]
    assert "Link Spotify, ListenBrainz" in answer.content
    assert "Not set up on this bot: Last.fm" in answer.content
    assert "/import-history" in answer.content


async def test_the_modal_links_the_account_and_keeps_no_token(harness: Harness) -> None:
    login = seed_listenbrainz(harness.listenbrainz, "rob-lb", ARTISTS)
    member = harness.world.member
    answer = await link_listenbrainz(harness.fake, member, harness.world.guild.id,
                                     "Rob-LB", login.token)
    assert "ListenBrainz account **rob-lb** linked" in answer.content
    account = await harness.pool.fetchrow(
        "SELECT external_id, access_token_enc, listening_window FROM accounts WHERE user_id = $1",
        member.id)
    assert account["external_id"] == "rob-lb"
    assert account["access_token_enc"] is None
    assert account["listening_window"].startswith("since January ")
    artists = await harness.pool.fetchval("SELECT artist_ids FROM profiles WHERE user_id = $1",
                                          member.id)
    assert artists[0] == "name:opeth"


async def test_statistics_not_ready_keep_the_account_for_the_next_refresh(harness: Harness) -> None:
    harness.listenbrainz.add_user("new-lb", "token-of-new")
    answer = await link_listenbrainz(harness.fake, harness.world.member, harness.world.guild.id,
                                     "new-lb", "token-of-new")
    assert "not computed your listening statistics yet" in answer.content
    assert "next refresh" in answer.content
    assert await harness.rows() == {"accounts": 1, "profiles": 0, "members": 1}


@pytest.mark.parametrize(("spoil", "words"), [
    ("someone_else", "belongs to a different account"),
    ("bad_token", "does not accept that user token"),
    ("unknown_user", "has no user by that name"),
    ("rate_limited", "asked us to slow down. Please try /link again in a minute"),
    ("server_error", "could not be reached"),
])
async def test_each_listenbrainz_error_is_explained_and_nothing_is_stored(
    harness: Harness, spoil: str, words: str
) -> None:
    login = seed_listenbrainz(harness.listenbrainz, "rob-lb", ARTISTS)
    other = seed_listenbrainz(harness.listenbrainz, "eve-lb", ARTISTS)
    username, token = "rob-lb", login.token
    if spoil == "someone_else":
        token = other.token
    elif spoil == "bad_token":
        token = "not-a-token"
    elif spoil == "unknown_user":
        # The token checks out, but the statistics endpoint knows no such user (404).
        harness.listenbrainz.state.users["ghost"] = harness.listenbrainz.state.users.pop("rob-lb")
    else:
        # A one-second window: the client waits out its retries quickly.
        harness.listenbrainz.set_rate_limit(30, 1.0)
        harness.listenbrainz.set_mode(spoil)
    answer = await link_listenbrainz(harness.fake, harness.world.member, harness.world.guild.id,
                                     username, token)
    assert words in answer.content
    assert answer.content.endswith("Nothing was saved.")
    assert await harness.rows() == {"accounts": 0, "profiles": 0, "members": 0}
