"""The sandbox terminal's core: one typed line in, the bot's answer as text out.

A person acts as a member of the sandbox's server: ``as ada``, ``/matches``, ``/compare @bob``,
``press 2`` (a button of the last answer), ``dms``, ``link``. Every command goes through the fake
Discord to the real bot, exactly as a Discord client would send it; the answers are rendered by
:mod:`soundsync_cli.sandbox_text`. The input loop around it is :mod:`soundsync_cli.sandbox_repl`.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from typing import Any

from soundsync_cli.sandbox import Sandbox
from soundsync_cli.sandbox_text import Button, render_message
from soundsync_fakes.discord_commands import ATTACHMENT_OPTION, CHAT_INPUT, USER_OPTION
from soundsync_fakes.discord_interactions import FakeInteraction
from soundsync_fakes.discord_messages import FakeMessage
from soundsync_fakes.discord_state import FakeUser
from soundsync_fakes.discord_webhooks import DEFERRED_MESSAGE, DEFERRED_UPDATE, MESSAGE, UPDATE_MESSAGE

HELP = """\
  members             who is in the server (with ids) and who you are
  as NAME             act as another member (ada is the server's admin)
  /COMMAND [ARGS]     a slash command: /matches, /compare @bob, /profile, /tribes, /recluster,
                      /settings visibility:global (options by name, or in order)
  press N             press button N of the last answer
  dms                 the direct messages the bot sent you since you last looked
  link                /link, then open the printed link page in a browser
  where               URLs, ids and the database of the sandbox
  help, quit"""
# Slow answers show progress first ("⏳ Reclustering — …"): wait for the final edit.
_IN_PROGRESS = "⏳"
_INTEGER, _BOOLEAN, _NUMBER = 4, 5, 10
_POLL_SECONDS = 0.05


class TerminalError(Exception):
    """A line the terminal cannot act on; the message says why."""


class SandboxTerminal:
    """Acts as one member at a time and renders what the bot answers."""

    def __init__(self, sandbox: Sandbox, *, member: str = "ada", timeout: float = 60.0) -> None:
        self.sandbox = sandbox
        self.member = sandbox.members[member]
        self.timeout = timeout
        self.done = False
        self._buttons: dict[int, Button] = {}
        self._dms_seen: dict[int, int] = {}

    @property
    def prompt(self) -> str:
        """The prompt shows who you are."""
        return f"{self.member.username}> "

    async def run(self, line: str) -> str:
        """Act on one typed line; returns what to show (errors included, never raised)."""
        text = line.strip()
        if not text:
            return ""
        try:
            answer = await self._dispatch(text)
        except (TerminalError, LookupError) as exc:
            return f"! {exc.args[0] if exc.args else exc}"
        except TimeoutError:
            return "! the bot did not answer in time"
        return answer + self._unread_note()

    async def _dispatch(self, text: str) -> str:
        word, _, rest = text.partition(" ")
        if text.startswith("/"):
            return await self._slash(text[1:])
        simple = {"help": lambda: HELP, "members": self._members, "where": self.sandbox.describe,
                  "dms": self._dms}
        if word in simple and not rest:
            return simple[word]()
        if word in ("quit", "exit") and not rest:
            self.done = True
            return "bye"
        if word == "as" and rest:
            return self._act_as(rest.strip().lstrip("@"))
        if word == "press" and rest.strip().isdigit():
            return await self._press(int(rest))
        if word == "link" and not rest:
            return await self._link()
        raise TerminalError(f"unknown command {text!r}: type help")

    # --- who you are ------------------------------------------------------------------------

    def _members(self) -> str:
        admin = self.sandbox.world.admin.id
        return "\n".join(
            f"  {name:<5} {user.global_name or name:<6} id {user.id}"
            f"{'  admin' if user.id == admin else ''}{'  <- you' if user.id == self.member.id else ''}"
            for name, user in self.sandbox.members.items()
        )

    def _user(self, name: str) -> FakeUser:
        by_id = {str(u.id): u for u in self.sandbox.members.values()}
        found = self.sandbox.members.get(name.lstrip("@")) or by_id.get(name)
        if found is None:
            raise TerminalError(f"no member {name!r}: one of {', '.join(self.sandbox.members)}")
        return found

    def _act_as(self, name: str) -> str:
        self.member = self._user(name)
        self._buttons = {}  # the buttons on screen were the other member's
        return f"you are now {self.member.global_name or name} (id {self.member.id})"

    # --- commands and buttons ---------------------------------------------------------------

    async def _slash(self, text: str) -> str:
        try:
            name, *args = shlex.split(text)
        except ValueError as exc:
            raise TerminalError(str(exc)) from None
        fake, guild = self.sandbox.fake, self.sandbox.world.guild.id
        try:
            schema = fake.commands.find(name, CHAT_INPUT, guild)
        except LookupError:
            known = sorted({c["name"] for c in [*fake.commands.listing(guild), *fake.commands.listing()]
                            if c["type"] == CHAT_INPUT})
            raise TerminalError(f"no command /{name}; the bot has /{', /'.join(known)}") from None
        options = self._options(schema, args)
        interaction = await fake.slash_command(self.member.id, guild, name, options=options)
        return self._show(await self._answer(interaction))

    def _options(self, schema: dict[str, Any], args: list[str]) -> dict[str, Any]:
        declared = {o["name"]: o for o in schema.get("options") or []}
        in_order = iter(declared.values())
        values: dict[str, Any] = {}
        for arg in args:
            key, sep, value = arg.partition(":")
            option = declared.get(key) if sep else None
            if option is None:
                option, value = next(in_order, None), arg
            if option is None:
                raise TerminalError(f"/{schema['name']} takes {len(declared)} option(s): "
                                    f"{', '.join(declared) or 'none'}")
            values[option["name"]] = self._typed(option, value)
        return values

    def _typed(self, option: dict[str, Any], value: str) -> Any:
        kind = option["type"]
        if kind == USER_OPTION:
            return self._user(value).id
        if kind == ATTACHMENT_OPTION:
            raise TerminalError("files cannot be attached from the terminal")
        try:
            typed = {_INTEGER: int, _NUMBER: float,
                     _BOOLEAN: lambda v: v.lower() in ("true", "yes", "on", "1")}.get(kind, str)(value)
        except ValueError:
            raise TerminalError(f"{option['name']}: {value!r} is not a number") from None
        for choice in option.get("choices", []):
            if value.lower() in (str(choice["value"]).lower(), choice["name"].lower()):
                return choice["value"]
        if option.get("choices"):
            names = ", ".join(str(c["value"]) for c in option["choices"])
            raise TerminalError(f"{option['name']} is one of: {names}")
        return typed

    async def _press(self, number: int) -> str:
        button = self._buttons.get(number)
        if button is None:
            raise TerminalError(f"no button {number} on screen")
        if button.url:
            return f"open this in a browser: {button.url}"
        if button.disabled or button.custom_id is None:
            raise TerminalError(f"button {number} ({button.label}) is disabled")
        fake = self.sandbox.fake
        message = fake.message(button.message_id)
        edits = message.edits
        interaction = await fake.click_button(self.member.id, message, button.custom_id)
        return self._show(await self._answer(interaction, edits))

    async def _link(self) -> str:
        shown = await self._slash("link")
        urls = [b.url for b in self._buttons.values() if b.url]
        if not urls:
            return shown
        account = f"{self.member.username}-spotify"
        return (f"{shown}\nopen the link page in a browser: {urls[0]}\n"
                f"(the fake Spotify asks which account to log in as: pick {account}; "
                "the bot then DMs you — type dms)")

    def _dms(self) -> str:
        everything = self.sandbox.fake.dm_messages(self.member.id)
        new = everything[self._dms_seen.get(self.member.id, 0):]
        self._dms_seen[self.member.id] = len(everything)
        return self._show(new) if new else "no new direct messages"

    def _unread_note(self) -> str:
        unread = len(self.sandbox.fake.dm_messages(self.member.id)) - self._dms_seen.get(self.member.id, 0)
        return f"\n({unread} new direct message(s): type dms)" if unread > 0 else ""

    # --- answers ----------------------------------------------------------------------------

    async def _answer(self, interaction: FakeInteraction, source_edits: int = 0) -> list[FakeMessage]:
        """The messages that answer an interaction once the bot is done with them."""
        callback = await interaction.response(timeout=self.timeout)
        if callback.type in (MESSAGE, UPDATE_MESSAGE):
            assert callback.message is not None
            return [self.sandbox.fake.message(callback.message.id)]
        if callback.type not in (DEFERRED_MESSAGE, DEFERRED_UPDATE):
            raise TerminalError("the bot opened a form, which the terminal cannot fill in")
        deadline = time.monotonic() + self.timeout
        while True:
            shown = self._settled(interaction, callback.type, source_edits)
            if shown and not shown[-1].content.startswith(_IN_PROGRESS):
                return shown
            if time.monotonic() > deadline:
                if shown:
                    return shown
                raise TimeoutError
            await asyncio.sleep(_POLL_SECONDS)

    def _settled(self, interaction: FakeInteraction, kind: int, source_edits: int) -> list[FakeMessage]:
        first = interaction.original if kind == DEFERRED_MESSAGE else (
            self.sandbox.fake.message(interaction.source_message_id)
            if interaction.source_message_id is not None else None)
        baseline = 0 if kind == DEFERRED_MESSAGE else source_edits
        edited = [first] if first is not None and first.edits > baseline else []
        return edited + interaction.followups

    def _show(self, messages: list[FakeMessage]) -> str:
        parts, self._buttons = [], {}
        for message in messages:
            text, buttons = render_message(message.id, message.data, len(self._buttons) + 1)
            parts.append(text)
            self._buttons.update({b.number: b for b in buttons})
        return "\n".join(parts)
