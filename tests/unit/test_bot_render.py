"""Embeds stay within Discord's limits and say what members need to read."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest

from bot import render
from bot.errors import BotRefusal, explain
from soundsync_core.errors import MemberFacingError
from soundsync_core.security.states import StateError
from soundsync_core.services.community_views import NoLiveRunError
from soundsync_core.services.connections import ConnectionRequestError
from soundsync_core.services.matches import Match, MatchLookupError
from soundsync_core.services.member_views import Comparison, ProfileUnavailableError, ProfileView
from soundsync_core.services.members import CommunityStats, MemberError, NotLinkedError
from soundsync_core.services.recluster import NothingToClusterError, ReclusterBusyError
from soundsync_core.sources.spotify_export import ExportFormatError
from soundsync_core.taste.bridge import BridgeItem

SNOWFLAKE = 912345678901234567


def reasons(n: int) -> dict:
    item = {"id": "a", "name": "A" * 60, "rank_a": 1, "rank_b": 2}
    return {"shared_artists": [item] * n, "shared_tracks": [item] * n, "shared_genres": [],
            "audio": {"closest": {"feature": "energy", "a": 0.5, "b": 0.5},
                      "farthest": {"feature": "loudness", "a": -5.0, "b": -20.0}}}


def test_fit_trims_fields_values_and_total_to_discord_limits() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for i in range(40):
        embed.add_field(name=f"field {i}", value="v" * 2000)
    fitted = render.fit(embed)
    assert len(fitted.title) == render.MAX_TITLE
    assert len(fitted.fields) <= render.MAX_FIELDS
    assert all(len(f.value) <= render.MAX_FIELD_VALUE for f in fitted.fields)
    assert len(fitted) <= render.MAX_TOTAL
    assert fitted.fields[0].value.endswith("…")


def test_match_embed_shows_percent_ranks_and_sound() -> None:
    match = Match(1, "Dee", 0.874, reasons(2))
    embed = render.match_embed(match, 0, 3, "server")
    assert embed.title == "Dee — 87 % match"
    assert embed.description == "Your server matches · 1 of 3"
    why = embed.fields[0].value
    assert "(#1 / #2)" in why
    assert "closest on energy, furthest apart on loudness" in why


def test_match_embed_with_many_reasons_fits_one_field() -> None:
    embed = render.match_embed(Match(1, "Dee", 0.5, reasons(50)), 0, 1, "global")
    assert len(embed.fields[0].value) <= render.MAX_FIELD_VALUE


def test_profile_embed_marks_an_estimated_tribe_and_points_at_the_chart() -> None:
    view = ProfileView(1, "Bob", ["Monk"], [], [("jazz", 1.0)], None, ["spotify"], "Jazz heads",
                       tribe_estimated=True)
    embed = render.profile_embed(view, "profile.png")
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Tribe"] == "Jazz heads (closest so far)"
    assert "Top tracks" not in fields
    assert embed.image.url == "attachment://profile.png"


def test_stats_embed_names_the_development_mode_cap() -> None:
    stats = CommunityStats({"spotify": 3, "import": 9}, 12, datetime(2026, 1, 5, tzinfo=UTC), 12, 3,
                           "development")
    fields = {f.name: f.value for f in render.stats_embed("Club", stats).fields}
    assert fields["Linked members by source"] == "spotify: 3\nimport: 9"
    assert fields["Spotify app mode"] == "development (5 allowlisted users at most)"
    assert "12 members · 3 tribes" in fields["Last recluster"]


def test_link_text_warns_only_in_development_mode() -> None:
    assert "development mode" in render.link_text("development", ["Spotify"], [])
    assert "development mode" not in render.link_text("full", ["Spotify"], [])
    assert "development mode" not in render.link_text("development", ["Last.fm"], ["Spotify"])


def test_link_text_names_the_sources_that_are_not_set_up() -> None:
    text = render.link_text("full", ["Spotify", "ListenBrainz"], ["Last.fm"])
    assert "Spotify, ListenBrainz" in text
    assert "Not set up on this bot: Last.fm" in text


def test_core_refusals_are_shown_and_bugs_are_not() -> None:
    assert explain(NotLinkedError()) == NotLinkedError().member_message
    refusal = MatchLookupError("You have no profile yet.", detail="member 7 has no profile")
    assert explain(refusal) == "You have no profile yet."
    assert explain(BotRefusal("Not here.")) == "Not here."
    assert explain(KeyError("secret internals")) is None


@pytest.mark.parametrize(
    "error", [NoLiveRunError(SNOWFLAKE), NothingToClusterError(f"guild {SNOWFLAKE}")]
)
def test_members_never_see_ids_or_cli_commands_the_operator_does(error: MemberFacingError) -> None:
    assert str(SNOWFLAKE) in str(error)
    shown = explain(error)
    assert shown is not None
    assert str(SNOWFLAKE) not in shown
    assert "soundsync " not in shown


def test_every_error_a_member_may_see_is_member_facing() -> None:
    shown_to_members = (
        MemberError, NotLinkedError, ProfileUnavailableError, ConnectionRequestError, MatchLookupError,
        NoLiveRunError, ReclusterBusyError, NothingToClusterError, StateError, ExportFormatError,
        BotRefusal,
    )
    assert [e.__name__ for e in shown_to_members if not issubclass(e, MemberFacingError)] == []


def test_match_and_compare_pages_show_the_bridge_and_what_the_percent_means() -> None:
    items = [BridgeItem("track", "nude", "Nude", 3, 1.0, "Radiohead"),
             BridgeItem("artist", "p", "Portishead", 3, 0.75, "art rock")]
    page = render.match_embed(Match(1, "Dee", 0.4, reasons(1), items), 0, 1, "server")
    fields = {f.name: f.value for f in page.fields}
    assert fields["Try from their favourites"].splitlines() == [
        "🎵 Nude — by Radiohead, whom you like", "🎤 Portishead — art rock, like you"]
    assert "identical twin" in page.footer.text
    view = ProfileView(2, "Dee", ["Radiohead"], [], [], None, ["spotify"], None)
    compared = render.compare_embed(Comparison(view, view, 0.4, reasons(1), items))
    assert "🎵 Nude — by Radiohead, whom you like" in compared.fields[-1].value
    assert "identical twin" in compared.footer.text
