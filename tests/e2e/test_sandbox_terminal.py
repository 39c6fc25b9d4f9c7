"""``soundsync sandbox``: a person acts as members of the sandbox's server from a terminal.

The real bot, web app and scheduler run against the fake Discord and fake Spotify on a real
PostgreSQL; the terminal's core and its input loop are driven as a person would type.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from soundsync_cli.sandbox import SANDBOX_DATABASE, Sandbox, run_sandbox
from soundsync_cli.sandbox_repl import LineReader, run_terminal
from soundsync_cli.sandbox_terminal import SandboxTerminal
from soundsync_core.db.urls import mask_url
from soundsync_core.settings import load_settings
from soundsync_fakes.browser import continue_to_provider


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
async def sandbox(server_url: str) -> AsyncIterator[Sandbox]:
    # run_sandbox points discord.py at its fake itself; the globals are restored afterwards.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
        patch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                      discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        settings = load_settings(_env_file=None, port=free_port(), spotify_workers=0)
        running = run_sandbox(settings, server_url, tour=False)
        try:
            yield await anext(running)
        finally:
            await running.aclose()


def button(text: str, label: str) -> int:
    """The number the terminal printed for a button."""
    found = re.search(rf"\[(\d+)\] {re.escape(label)}", text)
    assert found, text
    return int(found.group(1))


async def test_sandbox_prints_urls_member_ids_and_the_masked_database(sandbox: Sandbox) -> None:
    described = sandbox.describe()
    assert sandbox.fake.base_url in described
    assert sandbox.spotify.url in described
    assert sandbox.web_url in described
    assert f"/{SANDBOX_DATABASE}" in described
    assert all(f"{name} {user.id}" in described for name, user in sandbox.members.items())
    assert f"database      {mask_url(sandbox.database_url)}\n" in described


async def test_matches_as_a_member_then_press_next_and_compare(sandbox: Sandbox) -> None:
    terminal = SandboxTerminal(sandbox)
    assert terminal.prompt == "ada> "
    first = await terminal.run("/matches")
    assert re.search(r"== \w+ — \d+\s*% match ==", first), first
    assert "Artists:" in first
    assert "[1] ◀ Prev (disabled)" in first
    second = await terminal.run(f"press {button(first, 'Next ▶')}")
    assert " · 2 of " in second
    assert second.splitlines()[0] != first.splitlines()[0]
    assert (await terminal.run("press 1")).splitlines()[0] == first.splitlines()[0]  # ◀ Prev

    compared = await terminal.run("/compare @fay")
    assert re.search(r"== Ada × Fay: \d+\s*% ==", compared), compared
    assert "What you share:" in compared


async def test_switching_members_listing_them_and_mistakes(sandbox: Sandbox) -> None:
    terminal = SandboxTerminal(sandbox)
    assert "you are now Cyd" in await terminal.run("as cyd")
    listing = await terminal.run("members")
    assert f"cyd   Cyd    id {sandbox.members['cyd'].id}  <- you" in listing
    assert f"id {sandbox.world.admin.id}  admin" in listing
    assert await terminal.run("press 3") == "! no button 3 on screen"
    assert (await terminal.run("as zed")).startswith("! no member 'zed'")
    assert (await terminal.run("/dance")).startswith("! no command /dance; the bot has /compare, ")
    assert (await terminal.run("/compare @ada @bob")).startswith("! /compare takes 1 option(s): member")
    assert (await terminal.run("/settings visibility:loud")).startswith("! visibility is one of:")
    assert (await terminal.run("fly")).startswith("! unknown command 'fly'")
    assert "press N" in await terminal.run("help")


async def test_say_hi_then_accept_from_the_other_members_dms(sandbox: Sandbox) -> None:
    terminal = SandboxTerminal(sandbox)
    page = await terminal.run("/matches")
    other = page.split("== ", 1)[1].split(" — ")[0].lower()
    assert "Said hi" in await terminal.run(f"press {button(page, 'Say hi')}")
    await terminal.run(f"as {other}")
    request = await terminal.run("dms")
    assert "Ada (" in request
    assert "would like to connect" in request
    accepted = await terminal.run(f"press {button(request, 'Accept')}")
    assert "@ada" in accepted


async def test_link_prints_the_page_a_browser_opens_and_the_linked_dm_follows(sandbox: Sandbox) -> None:
    terminal = SandboxTerminal(sandbox, member="bob")
    shown = await terminal.run("link")
    url = shown.split("open the link page in a browser: ")[1].split()[0]
    assert url.startswith(f"{sandbox.web_url}/link?state=")
    assert f"open this in a browser: {url}" == await terminal.run(f"press {button(shown, 'Link Spotify ↗')}")
    async with aiohttp.ClientSession() as browser:
        authorize = await continue_to_provider(browser, url)  # the page, then Continue
        assert authorize.startswith(sandbox.spotify.url)
        callback = await sandbox.spotify.consent(authorize, "bob-spotify")
        async with browser.get(callback) as done:
            assert done.status == 200
    await sandbox.fake.next_dm(sandbox.members["bob"].id, timeout=10)
    assert "1 new direct message(s): type dms" in await terminal.run("members")
    assert "Your Spotify account is linked!" in await terminal.run("dms")
    assert await terminal.run("dms") == "no new direct messages"


async def test_recluster_waits_for_the_final_answer(sandbox: Sandbox) -> None:
    terminal = SandboxTerminal(sandbox)
    assert (await terminal.run("/recluster")).startswith("✅ Recluster finished")


async def test_the_input_loop_runs_a_piped_script(sandbox: Sandbox) -> None:
    transcript: list[str] = []
    script = "as dee\n/matches\npress 2\nbogus\nquit\nmembers\n"
    read_end, write_end = os.pipe()
    os.write(write_end, script.encode())
    os.close(write_end)
    with os.fdopen(read_end) as stdin:
        terminal = SandboxTerminal(sandbox)
        await run_terminal(terminal, LineReader(stdin, transcript.append), transcript.append)
    text = "".join(transcript)
    assert text.startswith("You are ada.")
    assert "ada> as dee\nyou are now Dee" in text
    assert "dee> /matches\n== " in text
    assert " · 2 of " in text.split("dee> press 2\n")[1]
    assert "dee> bogus\n! unknown command 'bogus'" in text
    assert text.endswith("dee> quit\nbye\n")  # nothing after quit is read
    assert terminal.done


async def test_the_input_loop_ends_at_the_end_of_input(sandbox: Sandbox) -> None:
    transcript: list[str] = []
    read_end, write_end = os.pipe()
    os.write(write_end, b"where")  # no newline before the end: still a line
    os.close(write_end)
    with os.fdopen(read_end) as stdin:
        await run_terminal(SandboxTerminal(sandbox), LineReader(stdin, transcript.append), transcript.append)
    text = "".join(transcript)
    assert "ada> where\nsandbox is up:" in text
    assert text.endswith("ada> \n")
