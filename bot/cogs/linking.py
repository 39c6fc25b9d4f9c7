"""``/link`` and ``/unlink``, and the "linked" DM when a link finishes.

``/link`` offers every source the registry holds in one answer: Spotify and Last.fm by a
one-time link to our web page, ListenBrainz by a button that opens a modal (username + user
token), the Spotify data export by ``/import-history``; sources whose settings are missing are
named as not set up.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.bot import SoundSyncBot
from bot.defer_first import defer_first
from bot.errors import BotRefusal
from bot.views import ConfirmView
from soundsync_core.repositories import accounts
from soundsync_core.services import linking, members, notifications, source_linking
from soundsync_core.services.notifications import LinkEvent, LinkListener
from soundsync_core.sources.listenbrainz import ListenBrainzSource

log = logging.getLogger(__name__)

# "{service}" is the label of the event's source.
LINK_EVENT_TEXT = {
    notifications.LINKED: "Your {service} account is linked! Try /profile and /matches.",
    notifications.LINK_EXPIRED: "{service} no longer accepts SoundSync's access to your account. "
                                "Use /link again to keep your matches fresh.",
    accounts.NOT_ALLOWLISTED: "Spotify refused the link: this bot's Spotify app is in "
                                   "development mode (5 allowlisted users). Ask the bot owner "
                                   "to add you, then /link again — or upload your Spotify "
                                   "data export with /import-history.",
}
# The way in that needs no Spotify API, hence no allowlist.
# The buttons of /link answer for as long as a state lives.
LINK_VIEW_TIMEOUT = 600
IMPORT_ALTERNATIVE = (
    "\nNot on the allowlist? Upload your Spotify data export with /import-history instead — "
    "it works for everyone."
)
NOT_READY_YET = " Your profile will be filled at the next refresh."
# Link buttons, in the order /link shows them: (source name, button label).
WEB_LINKS = (("spotify", "Link Spotify"), ("lastfm", "Link Last.fm"))
LISTENBRAINZ = "listenbrainz"
EXPORT = "spotify_export"
EXPORT_LINE = "\nOr upload your Spotify data export with /import-history."
UNLINK_WARNING = (
    "This deletes **everything** SoundSync stores about you: linked accounts, listening "
    "profile, matches, tribes, requests and settings. It cannot be undone."
)


class Linking(commands.Cog):
    """Linking a listening account, and leaving SoundSync."""

    def __init__(self, bot: SoundSyncBot) -> None:
        self.bot = bot
        self._listener: LinkListener | None = None

    async def cog_load(self) -> None:
        self._listener = await notifications.listen_for_links(self.bot.pool, self.on_link_event)

    async def cog_unload(self) -> None:
        if self._listener is not None:
            await self._listener.close()

    @app_commands.command(
        name="link", description="Link a listening account (Spotify, Last.fm, ListenBrainz, …)",
        extras=defer_first(),
    )
    async def link(self, interaction: discord.Interaction) -> None:
        if self.bot.vault is None:
            raise BotRefusal("Linking is not set up on this bot yet (the owner must set a secret key).")
        sources = self.bot.sources
        view = discord.ui.View(timeout=LINK_VIEW_TIMEOUT)
        offered: list[str] = []
        for name, button in WEB_LINKS:
            if name not in sources:
                continue
            # The web page names the member, so whoever opens a forwarded link sees whose it is.
            url = await linking.start_link(
                self.bot.pool, self.bot.vault, self.bot.settings, interaction.user.id,
                interaction.guild_id, member_name=interaction.user.display_name, source=name,
            )
            view.add_item(discord.ui.Button(label=button, url=url))
            offered.append(sources.label(name))
        if LISTENBRAINZ in sources:
            view.add_item(ListenBrainzButton(self.bot))
            offered.append(sources.label(LISTENBRAINZ))
        mode = await members.spotify_app_mode(self.bot.pool)
        text = render.link_text(mode, offered, list(sources.missing))
        if EXPORT in sources:
            spotify_capped = mode == "development" and "spotify" in sources
            text += IMPORT_ALTERNATIVE if spotify_capped else EXPORT_LINE
        await interaction.followup.send(text, view=view, ephemeral=True)

    @app_commands.command(
        name="unlink", description="Remove one source, or everything SoundSync knows about you"
    )
    @app_commands.describe(source="Only this source (Spotify, Last.fm, …); leave empty for everything")
    async def unlink(self, interaction: discord.Interaction, source: str | None = None) -> None:
        user_id = interaction.user.id
        if source is not None:
            await self._unlink_source(interaction, source)
            return

        async def delete_everything() -> str:
            deleted = await members.unlink(self.bot.pool, user_id)
            self.bot.tree.forget_presence(user_id)
            if deleted:
                return "Done: every piece of your SoundSync data has been deleted. Bye for now!"
            return "SoundSync had nothing stored about you — there was nothing to delete."

        view = ConfirmView(user_id, delete_everything, confirm_label="Delete everything")
        await interaction.response.send_message(UNLINK_WARNING, view=view, ephemeral=True)

    @unlink.autocomplete("source")
    async def _source_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=s.label, value=s.name) for s in self.bot.sources
                if current.casefold() in s.label.casefold()][:25]

    async def _unlink_source(self, interaction: discord.Interaction, given: str) -> None:
        user_id = interaction.user.id
        found = [s for s in self.bot.sources if given.casefold() in (s.name, s.label.casefold())]
        if not found:
            raise BotRefusal(f"SoundSync has no source called {given!r}.")
        source = found[0]

        async def delete_source() -> str:
            if await members.unlink_source(self.bot.pool, user_id, source.name):
                return (f"Done: {source.label} no longer feeds your profile (its login and "
                        "listening are deleted). Your other sources and settings stay.")
            return f"{source.label} was not feeding your profile — there was nothing to remove."

        view = ConfirmView(user_id, delete_source, confirm_label=f"Remove {source.label}")
        await interaction.response.send_message(
            f"This removes **{source.label}** from your profile: its login and its listening. "
            "Other sources stay.", view=view, ephemeral=True,
        )

    async def on_link_event(self, event: LinkEvent) -> None:
        """DM the member what happened to their link (called by the LISTEN connection)."""
        template = LINK_EVENT_TEXT.get(event.event)
        if template is None:
            log.warning("unknown link event %r", event.event)
            return
        text = template.format(service=self.bot.sources.label(event.source))
        if event.event == notifications.LINKED and not event.profile_ready:
            text += NOT_READY_YET
        try:
            channel = await self.bot.create_dm(discord.Object(event.user_id))
            await channel.send(text)
        except discord.Forbidden:
            log.info("member %s has closed DMs; link event %s not delivered", event.user_id, event.event)


class ListenBrainzModal(discord.ui.Modal, title="Link ListenBrainz"):
    """Username + user token; the token proves the account is the member's, then is dropped."""

    username: discord.ui.TextInput = discord.ui.TextInput(
        label="ListenBrainz username", custom_id="listenbrainz:username", max_length=64
    )
    token: discord.ui.TextInput = discord.ui.TextInput(
        label="User token (Settings → User token)", custom_id="listenbrainz:token", max_length=64
    )

    def __init__(self, bot: SoundSyncBot) -> None:
        super().__init__()
        self.bot = bot

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        source = self.bot.sources.get(LISTENBRAINZ)
        assert isinstance(source, ListenBrainzSource)
        assert self.bot.vault is not None  # /link refuses before offering the button
        result = await source_linking.link_listenbrainz(
            self.bot.pool, self.bot.vault, source, interaction.user.id, interaction.guild_id,
            self.username.value, self.token.value, interaction.user.display_name,
        )
        await interaction.followup.send(listenbrainz_answer(result), ephemeral=True)


def listenbrainz_answer(result: source_linking.SourceLinkResult) -> str:
    """What the member reads after the modal."""
    if result.outcome == source_linking.LINKED:
        top = ", ".join(result.top_artists[:5])
        return (f"ListenBrainz account **{result.account_name}** linked. Your token was only "
                f"checked, not kept.{f' Top artists: {top}.' if top else ''} Try /profile and "
                "/matches.")
    if result.outcome == source_linking.PENDING:
        return f"ListenBrainz account **{result.account_name}** linked. {result.message}"
    return f"{result.message} Nothing was saved."


class ListenBrainzButton(discord.ui.Button["discord.ui.View"]):
    """Opens the ListenBrainz modal for the member who asked for /link."""

    def __init__(self, bot: SoundSyncBot) -> None:
        super().__init__(label="Link ListenBrainz", custom_id="link:listenbrainz",
                         style=discord.ButtonStyle.primary)
        self.bot = bot

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ListenBrainzModal(self.bot))


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Linking(bot))
