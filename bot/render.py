"""Embeds and texts the bot sends, kept within Discord's limits (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import discord

from soundsync_core.repositories.accounts import SourceFeed
from soundsync_core.services.community_views import TribeView
from soundsync_core.services.matches import Match
from soundsync_core.services.member_views import Comparison, ProfileView
from soundsync_core.services.members import CommunityStats, MemberSettings
from soundsync_core.taste.bridge import BridgeItem
from soundsync_core.taste.percent import MEANING

# Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
MAX_FIELDS = 25
MAX_FIELD_VALUE = 1024
MAX_FIELD_NAME = 256
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_TOTAL = 6000
COLOUR = discord.Colour(0x1DB954)
APP_MODE_WORDS = {
    "full": "full (no user cap)",
    "development": "development (5 allowlisted users at most)",
}
VISIBILITY_WORDS = {
    "server": "members of servers you share",
    "global": "everyone using SoundSync (and you get global matches)",
    "hidden": "nobody — you are left out of everyone's matches",
}


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when it had to be cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def percent(score: float) -> str:
    """A 0…1 compatibility (see ``taste.percent``) as members read it: ``87 %``."""
    return f"{round(score * 100)} %"


def fit(embed: discord.Embed) -> discord.Embed:
    """Trim an embed to Discord's limits: fields beyond 25 or past 6000 characters are dropped."""
    if embed.title:
        embed.title = clip(embed.title, MAX_TITLE)
    if embed.description:
        embed.description = clip(embed.description, MAX_DESCRIPTION)
    fields = embed.fields[:MAX_FIELDS]
    embed.clear_fields()
    for field in fields:
        name = clip(field.name or "\u200b", MAX_FIELD_NAME)
        value = clip(field.value or "\u200b", MAX_FIELD_VALUE)
        if len(embed) + len(name) + len(value) > MAX_TOTAL:
            break
        embed.add_field(name=name, value=value, inline=field.inline)
    return embed


def _listing(items: Sequence[str], *, numbered: bool = True) -> str:
    if not items:
        return "—"
    if numbered:
        return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    return ", ".join(items)


def _shared(items: list[dict[str, Any]], limit: int = 6) -> str:
    parts = []
    for item in items[:limit]:
        ranks = ""
        if "rank_a" in item and "rank_b" in item:
            ranks = f" (#{item['rank_a']} / #{item['rank_b']})"
        parts.append(f"{item.get('name') or item.get('id')}{ranks}")
    return ", ".join(parts)


def reasons_text(reasons: dict[str, Any]) -> str:
    """Why two members match, in a few lines (ranks are yours / theirs)."""
    lines = []
    for key, label in (("shared_artists", "Artists"), ("shared_tracks", "Tracks"),
                       ("shared_genres", "Genres")):
        if reasons.get(key):
            lines.append(f"**{label}:** {_shared(reasons[key])}")
    audio = reasons.get("audio")
    if audio:
        close, far = audio["closest"], audio["farthest"]
        lines.append(f"**Sound:** closest on {close['feature']}, furthest apart on {far['feature']}")
    return clip("\n".join(lines) or "Similar overall listening.", MAX_FIELD_VALUE)


def bridge_text(items: Sequence[BridgeItem]) -> str:
    """Their favourites you do not list yet, one a line, with the common ground they come by."""
    lines = []
    for item in items:
        kind = "🎵" if item.kind == "track" else "🎤"
        via = f" — by {item.via}, whom you like" if item.kind == "track" and item.via else (
            f" — {item.via}, like you" if item.via else "")
        lines.append(f"{kind} {item.name}{via}")
    return clip("\n".join(lines), MAX_FIELD_VALUE)


def link_text(app_mode: str, offered: Sequence[str], missing: Sequence[str]) -> str:
    """The private answer to ``/link``: the sources offered (buttons below), those that are not."""
    text = (f"Link {', '.join(offered)} with the buttons below (each link works once, for "
            "10 minutes)." if offered else "No listening service can be linked on this bot yet.")
    if missing:
        text += f"\nNot set up on this bot: {', '.join(missing)} (the owner has not configured it)."
    if "Spotify" not in offered:
        return text
    if app_mode == "development":
        text += (
            "\n⚠️ This bot's Spotify app is in **development mode**: Spotify only lets the first "
            "5 allowlisted users in. If linking fails, ask the bot owner to add you."
        )
    return text


def feed_line(feed: SourceFeed, label: Callable[[str], str]) -> str:
    """One source of a profile: its label, the window it reads, when it was last read."""
    parts = [f"**{label(feed.source)}**"]
    if feed.window:
        parts.append(feed.window)
    parts.append(f"refreshed {discord.utils.format_dt(feed.refreshed_at, 'R')}"
                 if feed.refreshed_at else "not fetched yet")
    if feed.status != "active":
        parts.append(f"({feed.status.replace('_', ' ')})")
    return " · ".join(parts)


def profile_embed(
    view: ProfileView, chart_name: str | None, label: Callable[[str], str] = str
) -> discord.Embed:
    """``/profile``: top artists and tracks, tribe, sources and the chart; ``label`` names a
    source for members (the registry's)."""
    embed = discord.Embed(title=f"{view.display_name}'s taste", colour=COLOUR)
    embed.add_field(name="Top artists", value=_listing(view.top_artists), inline=True)
    if view.top_tracks:
        embed.add_field(name="Top tracks", value=_listing(view.top_tracks), inline=True)
    tribe = view.tribe or "not placed yet (after the next recluster)"
    if view.tribe and view.tribe_estimated:
        tribe += " (closest so far)"
    embed.add_field(name="Tribe", value=tribe, inline=False)
    if view.genre_mix:
        embed.add_field(name="Genres", value=_listing([g for g, _ in view.genre_mix], numbered=False))
    sources = ([feed_line(f, label) for f in view.feeds] if view.feeds
               else [label(s) for s in view.sources])
    embed.add_field(name="Sources", value=_listing(sources, numbered=False), inline=False)
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    return fit(embed)


def match_embed(match: Match, index: int, total: int, scope: str) -> discord.Embed:
    """One page of ``/matches``: the match, its compatibility and why."""
    embed = discord.Embed(
        title=f"{match.display_name} — {percent(match.score)} match",
        description=f"Your {scope} matches · {index + 1} of {total}",
        colour=COLOUR,
    )
    embed.add_field(name="Why", value=reasons_text(match.reasons), inline=False)
    if match.bridge:
        embed.add_field(name="Try from their favourites", value=bridge_text(match.bridge), inline=False)
    embed.set_footer(text=f"{MEANING}. Say hi shares your handle only if they accept.")
    return fit(embed)


def compare_embed(comparison: Comparison) -> discord.Embed:
    """``/compare``: both profiles side by side, what they share, the score."""
    left, right = comparison.left, comparison.right
    embed = discord.Embed(
        title=f"{left.display_name} × {right.display_name}: {percent(comparison.score)}",
        colour=COLOUR,
    )
    embed.add_field(name=left.display_name, value=_listing(left.top_artists[:5]), inline=True)
    embed.add_field(name=right.display_name, value=_listing(right.top_artists[:5]), inline=True)
    embed.add_field(name="What you share", value=reasons_text(comparison.reasons), inline=False)
    if comparison.bridge:
        embed.add_field(name=f"Try from {right.display_name}'s favourites",
                        value=bridge_text(comparison.bridge), inline=False)
    embed.set_footer(text=f"{MEANING}.")
    return fit(embed)


def tribes_embed(guild_name: str, tribes: Sequence[TribeView], map_name: str | None) -> discord.Embed:
    """``/tribes``: the guild's taste tribes, biggest first, and the taste map."""
    embed = discord.Embed(title=f"Taste tribes of {guild_name}", colour=COLOUR)
    for tribe in tribes:
        artists = ", ".join(tribe.top_artists[:5]) or "—"
        genres = ", ".join(tribe.top_genres[:4])
        value = f"{tribe.members_in_guild} member(s) here · {artists}" + (f"\n*{genres}*" if genres else "")
        embed.add_field(name=tribe.name, value=value, inline=False)
    if map_name:
        embed.set_image(url=f"attachment://{map_name}")
    return fit(embed)


def settings_embed(settings: MemberSettings) -> discord.Embed:
    """``/settings``: the member's current choices."""
    embed = discord.Embed(title="Your SoundSync settings", colour=COLOUR)
    embed.add_field(name="Weekly DM", value="on" if settings.weekly_dm else "off")
    embed.add_field(name="Visibility", value=f"{settings.visibility} — "
                    f"{VISIBILITY_WORDS.get(settings.visibility, '')}", inline=False)
    return fit(embed)


def stats_embed(guild_name: str, stats: CommunityStats) -> discord.Embed:
    """``/soundsync-stats``: linked members by source, last run, Spotify app mode."""
    embed = discord.Embed(title=f"SoundSync in {guild_name}", colour=COLOUR)
    sources = "\n".join(f"{s}: {n}" for s, n in stats.linked_by_source.items()) or "nobody yet"
    embed.add_field(name="Linked members by source", value=sources, inline=False)
    embed.add_field(name="Linked members here", value=str(stats.members_in_guild))
    if stats.last_run_finished is not None:
        when = discord.utils.format_dt(stats.last_run_finished, "R")
        run = f"{when} · {stats.last_run_members or '?'} members · {stats.last_run_k or '?'} tribes"
    else:
        run = "never — use /recluster"
    embed.add_field(name="Last recluster", value=run, inline=False)
    mode = APP_MODE_WORDS.get(stats.spotify_app_mode, "unknown yet")
    embed.add_field(name="Spotify app mode", value=mode, inline=False)
    if stats.source_problems:
        embed.add_field(name="Needs the owner", value="\n".join(stats.source_problems.values()),
                        inline=False)
    return fit(embed)


def hi_request_text(from_name: str, score: float | None) -> str:
    """The DM the other member gets when someone says hi."""
    match = f" ({percent(score)} match)" if score is not None else ""
    return f"**{from_name}**{match} would like to connect on SoundSync. Accept to swap Discord handles."


def digest_embed(payload: dict[str, Any]) -> discord.Embed:
    """The weekly digest DM (payload from ``soundsync_core.services.digest``)."""
    embed = discord.Embed(title=f"Your matches this week · {payload['scope']['name']}", colour=COLOUR)
    for match in payload["matches"]:
        reasons = "\n".join(match.get("reasons") or []) or "Similar overall taste"
        embed.add_field(name=f"{match['name']} — {match['percent']} %", value=reasons, inline=False)
    embed.set_footer(text="Use /matches to say hi · /settings to stop these DMs")
    return fit(embed)


def channel_digest_embed(payload: dict[str, Any]) -> discord.Embed:
    """The channel digest for members whose DMs are closed (they are mentioned by id)."""
    embed = discord.Embed(title="This week's taste matches", colour=COLOUR)
    for entry in payload["members"]:
        names = ", ".join(f"{m['name']} ({m['percent']} %)" for m in entry["matches"])
        embed.add_field(name="\u200b", value=f"<@{entry['user_id']}>: {names}", inline=False)
    if payload.get("more"):
        embed.set_footer(text=f"…and {payload['more']} more — use /matches")
    return fit(embed)
