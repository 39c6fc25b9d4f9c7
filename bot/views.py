"""Buttons: confirm, the paginated matches with their actions, and the say-hi answer in DMs."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import asyncpg
import discord

from bot import render
from bot.errors import BotRefusal, handle_error, tell
from soundsync_core.services import connections
from soundsync_core.services.matches import Match, with_details
from soundsync_core.snowflakes import parse_snowflake

log = logging.getLogger(__name__)


class OwnedView(discord.ui.View):
    """Buttons only the member who asked may press; failures go through the bot's error handler."""

    def __init__(self, owner_id: int, *, timeout: float = 600) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await tell(interaction, "These buttons belong to someone else.")
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await handle_error(interaction, error)


class ConfirmView(OwnedView):
    """A dangerous action behind a Confirm button; ``on_confirm`` returns the text to show."""

    def __init__(
        self,
        owner_id: int,
        on_confirm: Callable[[], Awaitable[str]],
        *,
        confirm_label: str = "Confirm",
    ) -> None:
        super().__init__(owner_id, timeout=120)
        self.on_confirm = on_confirm
        self.confirm.label = confirm_label

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger, custom_id="confirm:yes")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        text = await self.on_confirm()
        await interaction.response.edit_message(content=text, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="confirm:no")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled — nothing was changed.", view=None)


class MatchPager(OwnedView):
    """One match per page with Prev/Next, Say hi, Already friends and Not interested."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        hi_answers: type[HiAnswerButton],
        owner_id: int,
        matches: list[Match],
        guild_id: int | None,
    ) -> None:
        super().__init__(owner_id)
        self.pool = pool
        self.hi_answers = hi_answers
        self.matches = matches
        self.guild_id = guild_id
        self.index = 0
        self.greeted: set[int] = set()
        self._sync_buttons()

    @property
    def scope(self) -> str:
        """How the pages name the scope."""
        return "server" if self.guild_id is not None else "global"

    @property
    def current(self) -> Match:
        """The match on screen."""
        return self.matches[self.index]

    async def page(self) -> discord.Embed:
        """The embed of the current page (its reasons and bridge read the first time it is shown)."""
        self.matches[self.index] = await with_details(self.pool, self.owner_id, self.current)
        return render.match_embed(self.current, self.index, len(self.matches), self.scope)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.matches) - 1
        self.say_hi.disabled = self.current.user_id in self.greeted

    async def _show(self, interaction: discord.Interaction, content: str | None = None) -> None:
        if not self.matches:
            self.stop()
            await interaction.response.edit_message(
                content=(content or "") + "\nNo more matches for now.", embed=None, view=None
            )
            return
        self.index = min(self.index, len(self.matches) - 1)
        self._sync_buttons()
        await interaction.response.edit_message(content=content, embed=await self.page(), view=self)

    @discord.ui.button(label="◀ Prev", style=discord.ButtonStyle.secondary, custom_id="matches:prev")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.index = max(0, self.index - 1)
        await self._show(interaction)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="matches:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.index = min(len(self.matches) - 1, self.index + 1)
        await self._show(interaction)

    @discord.ui.button(label="Say hi", style=discord.ButtonStyle.success, custom_id="matches:hi", row=1)
    async def say_hi(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        match = self.current
        await connections.say_hi(
            self.pool, self.owner_id, match.user_id, guild_id=self.guild_id,
            score=match.score, from_handle=interaction.user.name,
        )
        try:
            await self.hi_answers.send_request(
                interaction.client, match.user_id, interaction.user.display_name, match.score, self.owner_id
            )
        except discord.Forbidden:
            await connections.cancel_hi(self.pool, self.owner_id, match.user_id)
            raise BotRefusal(
                f"{match.display_name} does not accept DMs from this bot, so your hi was not delivered."
            ) from None
        self.greeted.add(match.user_id)
        await self._show(interaction, f"Said hi to {match.display_name} — "
                                      "you'll both get each other's handle if they accept.")

    @discord.ui.button(label="Already friends", custom_id="matches:friends", row=1)
    async def friends(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await self._exclude(interaction, "friends")

    @discord.ui.button(label="Not interested", style=discord.ButtonStyle.danger,
                       custom_id="matches:not_interested", row=1)
    async def not_interested(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await self._exclude(interaction, "not_interested")

    async def _exclude(self, interaction: discord.Interaction, reason: str) -> None:
        match = self.current
        await connections.exclude(self.pool, self.owner_id, match.user_id, reason)
        self.matches.pop(self.index)
        await self._show(interaction, f"{match.display_name} won't appear in your matches again.")


HI_ANSWER_TEMPLATE = r"hi:(?P<answer>accept|decline):(?P<from_user>[0-9]+)"


class HiAnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=HI_ANSWER_TEMPLATE):
    """Accept / Decline under a say-hi DM; works after a restart (state is in the custom id).

    Only the subclass made by :func:`pooled_hi_answer_button` is sent and registered: it knows
    the pool to answer with.
    """

    pool: ClassVar[asyncpg.Pool]

    def __init__(self, answer: str, from_user: int) -> None:
        accept = answer == "accept"
        super().__init__(discord.ui.Button(
            label="Accept" if accept else "Decline",
            style=discord.ButtonStyle.success if accept else discord.ButtonStyle.secondary,
            custom_id=f"hi:{answer}:{from_user}",
        ))
        self.answer = answer
        self.from_user = from_user

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str]
    ) -> HiAnswerButton:
        # The custom id comes back from Discord as text: the one snowflake check, not int().
        return cls(match["answer"], parse_snowflake(match["from_user"]))

    @classmethod
    async def send_request(
        cls, client: discord.Client, to_user: int, from_name: str, score: float | None, from_user: int
    ) -> None:
        """DM ``to_user`` the request with Accept / Decline (raises Forbidden when DMs are closed)."""
        channel = await client.create_dm(discord.Object(to_user))
        view = discord.ui.View(timeout=None)
        view.add_item(cls("accept", from_user))
        view.add_item(cls("decline", from_user))
        await channel.send(render.hi_request_text(from_name, score), view=view)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self._answer(interaction)
        except Exception as error:
            await handle_error(interaction, error)

    async def _answer(self, interaction: discord.Interaction) -> None:
        accept = self.answer == "accept"
        request = await connections.answer_hi(
            self.pool, self.from_user, interaction.user.id, accept=accept, to_handle=interaction.user.name
        )
        if not accept:
            await interaction.response.edit_message(
                content="You declined. They will not learn your handle.", view=None
            )
            return
        await interaction.response.edit_message(
            content=f"You accepted! Their Discord handle is **@{request.from_handle}** — say hello.",
            view=None,
        )
        try:
            channel = await interaction.client.create_dm(discord.Object(self.from_user))
            await channel.send(
                f"**{interaction.user.display_name}** accepted your hi! "
                f"Their Discord handle is **@{request.to_handle}**."
            )
        except discord.Forbidden:
            log.info("member %s accepted but the requester's DMs are closed", interaction.user.id)


def pooled_hi_answer_button(pool: asyncpg.Pool) -> type[HiAnswerButton]:
    """The Accept / Decline button class one bot registers and sends, answering with ``pool``.

    discord.py rebuilds a dynamic item from its class alone (``from_custom_id``), and sending
    one registers its class again, so the pool has to live on the class.
    """

    class PooledHiAnswerButton(HiAnswerButton, template=HI_ANSWER_TEMPLATE):
        pass

    PooledHiAnswerButton.pool = pool
    return PooledHiAnswerButton
