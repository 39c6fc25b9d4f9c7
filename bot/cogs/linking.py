"""``/link`` and ``/unlink``, and the "linked" DM when the web side finishes a link."""

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
from soundsync_core.services import linking, members, notifications
from soundsync_core.services.notifications import LinkEvent, LinkListener

log = logging.getLogger(__name__)

LINK_EVENT_TEXT = {
    notifications.LINKED: "Your Spotify account is linked! Try /profile and /matches.",
    notifications.LINK_EXPIRED: "Spotify no longer accepts SoundSync's access to your account. "
                                "Use /link again to keep your matches fresh.",
    accounts.NOT_ALLOWLISTED: "Spotify refused the link: this bot's Spotify app is in "
                                   "development mode (5 allowlisted users). Ask the bot owner "
                                   "to add you, then /link again — or upload your Spotify "
                                   "data export with /import-history.",
}
# The way in that needs no Spotify API, hence no allowlist.
IMPORT_ALTERNATIVE = (
    "\nNot on the allowlist? Upload your Spotify data export with /import-history instead — "
    "it works for everyone."
)
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
        name="link", description="Link your Spotify account to SoundSync", extras=defer_first()
    )
    async def link(self, interaction: discord.Interaction) -> None:
        if self.bot.vault is None:
            raise BotRefusal("Linking is not set up on this bot yet (the owner must set a secret key).")
        # The web page names the member, so whoever opens a forwarded link sees whose it is.
        url = await linking.start_link(
            self.bot.pool, self.bot.vault, self.bot.settings, interaction.user.id,
            interaction.guild_id, member_name=interaction.user.display_name,
        )
        mode = await members.spotify_app_mode(self.bot.pool)
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="Link Spotify", url=url))
        text = render.link_text(url, mode) + (IMPORT_ALTERNATIVE if mode == "development" else "")
        await interaction.followup.send(text, view=view, ephemeral=True)

    @app_commands.command(name="unlink", description="Delete everything SoundSync knows about you")
    async def unlink(self, interaction: discord.Interaction) -> None:
        user_id = interaction.user.id

        async def delete_everything() -> str:
            deleted = await members.unlink(self.bot.pool, user_id)
            self.bot.tree.forget_presence(user_id)
            if deleted:
                return "Done: every piece of your SoundSync data has been deleted. Bye for now!"
            return "SoundSync had nothing stored about you — there was nothing to delete."

        view = ConfirmView(user_id, delete_everything, confirm_label="Delete everything")
        await interaction.response.send_message(UNLINK_WARNING, view=view, ephemeral=True)

    async def on_link_event(self, event: LinkEvent) -> None:
        """DM the member what happened to their link (called by the LISTEN connection)."""
        text = LINK_EVENT_TEXT.get(event.event)
        if text is None:
            log.warning("unknown link event %r", event.event)
            return
        try:
            channel = await self.bot.create_dm(discord.Object(event.user_id))
            await channel.send(text)
        except discord.Forbidden:
            log.info("member %s has closed DMs; link event %s not delivered", event.user_id, event.event)


async def setup(bot: SoundSyncBot) -> None:
    await bot.add_cog(Linking(bot))
