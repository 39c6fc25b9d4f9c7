"""The sandbox's members past Spotify: one links Last.fm (web auth), one ListenBrainz (modal).

Each link goes the way a member's does — ``/link`` in the fake Discord, then for Last.fm our
``/link`` page, Continue, the fake Last.fm's consent and our ``/lastfm/callback``; for
ListenBrainz the button, the modal, the username and the user token — so the sandbox (and the
tests that drive it) exercise the real flows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp

from soundsync_fakes.browser import continue_to_provider
from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_messages import FakeMessage
from soundsync_fakes.discord_state import FakeUser
from soundsync_fakes.lastfm import FakeArtist, FakeLastfm
from soundsync_fakes.listenbrainz import FakeListen, FakeListenBrainz

LISTENBRAINZ_BUTTON = "link:listenbrainz"
LISTENBRAINZ_FIELDS = ("listenbrainz:username", "listenbrainz:token")
TIMEOUT = 10.0


@dataclass(frozen=True)
class ListenBrainzLogin:
    """A fake ListenBrainz account and its user token (the modal asks for both)."""

    username: str
    token: str = ""

    def __repr__(self) -> str:
        return f"ListenBrainzLogin(username={self.username!r})"


def seed_lastfm(lastfm: FakeLastfm, username: str, artists: list[str]) -> None:
    """A Last.fm account whose chart is ``artists``, best first."""
    lastfm.add_user(username, [FakeArtist(name, 200 - 10 * i) for i, name in enumerate(artists)])


def seed_listenbrainz(listenbrainz: FakeListenBrainz, username: str,
                      artists: list[str]) -> ListenBrainzLogin:
    """A ListenBrainz account with last year's and this year's statistics computed."""
    token = secrets.token_hex(16)
    listenbrainz.add_user(username, token)
    for stats_range in ("year", "this_year"):
        listenbrainz.set_stats(username, "artists", stats_range,
                               [FakeListen(name, 90 - 5 * i) for i, name in enumerate(artists)])
        listenbrainz.set_stats(username, "recordings", stats_range, [])
    return ListenBrainzLogin(username, token)


async def link_answer(fake: FakeDiscord, user: FakeUser, guild_id: int) -> Any:
    """The private answer to ``/link`` (its buttons)."""
    interaction = await fake.slash_command(user.id, guild_id, "link")
    await interaction.response(timeout=TIMEOUT)
    return await interaction.next_followup(timeout=TIMEOUT)


def button_url(message: Any, label: str) -> str:
    """The URL of the link button called ``label``."""
    for row in message.data["components"]:
        for button in row["components"]:
            if button.get("label") == label and button.get("url"):
                return str(button["url"])
    raise LookupError(f"/link shows no {label!r} button")


async def link_lastfm(
    fake: FakeDiscord, lastfm: FakeLastfm, user: FakeUser, guild_id: int, account: str
) -> int:
    """/link → our page → Continue → Last.fm's consent as ``account`` → our callback's status."""
    url = button_url(await link_answer(fake, user, guild_id), "Link Last.fm")
    async with aiohttp.ClientSession() as http:
        authorize = await continue_to_provider(http, url)
        callback = await lastfm.consent(authorize, account)
        async with http.get(callback) as response:
            return response.status


async def link_listenbrainz(
    fake: FakeDiscord, user: FakeUser, guild_id: int, username: str, token: str
) -> FakeMessage:
    """/link → the ListenBrainz button → the modal with ``username`` and ``token``; the bot's
    private answer."""
    answer = await link_answer(fake, user, guild_id)
    opened = await fake.click_button(user.id, answer, LISTENBRAINZ_BUTTON)
    await opened.response(timeout=TIMEOUT)
    submitted = await fake.submit_modal(opened, dict(zip(LISTENBRAINZ_FIELDS, (username, token),
                                                         strict=True)))
    await submitted.response(timeout=TIMEOUT)
    return await submitted.next_followup(timeout=TIMEOUT)
