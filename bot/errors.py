"""One place that turns any command or button failure into an answer the member can read.

Errors written for members (every :class:`MemberFacingError`, the bot's own refusals included)
show their ``member_message``; permission, cooldown and guild-only refusals get a plain sentence;
anything else is logged with its context and the member gets a generic apology (never a traceback or an id).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from soundsync_core.errors import MemberFacingError
from soundsync_core.settings import ConfigError

log = logging.getLogger(__name__)

ERROR_EVENT = "soundsync_error"
# discord.py's permission names → what Discord's settings screens call them.
PERMISSION_NAMES = {"manage_guild": "Manage Server"}


class BotRefusal(MemberFacingError, app_commands.AppCommandError):  # noqa: N818 (the cogs' word)
    """A refusal raised by the bot itself, worded for the member."""


def explain(error: Exception) -> str | None:
    """The sentence to show for an expected error, or None when the error is a bug."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, MemberFacingError):
        return original.member_message
    if isinstance(original, ConfigError):
        return "This bot is not fully configured yet; please tell a server admin."
    if isinstance(original, app_commands.MissingPermissions):
        needed = ", ".join(PERMISSION_NAMES.get(p, p.replace("_", " ").title())
                           for p in original.missing_permissions)
        return f"You need the {needed} permission to use this command."
    if isinstance(original, app_commands.CommandOnCooldown):
        return f"Slow down — try again in {original.retry_after:.0f} s."
    if isinstance(original, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(original, app_commands.CheckFailure):
        return "You cannot use this command here."
    return None


async def tell(interaction: discord.Interaction, text: str) -> None:
    """Answer privately, whether or not the interaction was already acknowledged."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id, exc_info=True)


async def handle_error(interaction: discord.Interaction, error: Exception) -> None:
    """Show the member what went wrong; log the unexpected with who/where/what."""
    text = explain(error)
    expected = text is not None
    if text is None:
        command = interaction.command.qualified_name if interaction.command else "component"
        log.error(
            "unexpected error in %s (user %s, guild %s)", command, interaction.user.id,
            interaction.guild_id, exc_info=error,
        )
        text = "Something went wrong on our side. It has been logged; please try again later."
    await tell(interaction, text)
    # Observers (tests, metrics) learn about every failure and whether it was expected.
    interaction.client.dispatch(ERROR_EVENT, interaction, error, expected)
