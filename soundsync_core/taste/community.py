"""The community a recluster works on: members with profiles, who may be matched with whom."""

from __future__ import annotations

from dataclasses import dataclass, field

from soundsync_core.taste.profile import ProfileTable

# Scope id of the matches among members whose visibility is ``global`` (guild ids are > 0).
GLOBAL_SCOPE = 0


@dataclass
class Community:
    """Members with profiles (sorted by id), their visibility, guilds and exclusions."""

    profiles: ProfileTable  # one row per member (``len`` = members), as the taste engine reads them
    visibility: dict[int, str] = field(default_factory=dict)
    guild_members: dict[int, list[int]] = field(default_factory=dict)
    # (member, other): the member asked never to see other again.
    exclusions: set[tuple[int, int]] = field(default_factory=set)
    guild_only: int | None = None
