"""A member's listening profile as every source adapter returns it (DESIGN §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Audio features SoundSync understands, in a fixed order. The first five are the ones the seed
# used; the rest are used when a provider gives them.
AUDIO_FEATURES: tuple[str, ...] = (
    "acousticness",
    "instrumentalness",
    "danceability",
    "energy",
    "loudness",
    "valence",
    "tempo",
    "speechiness",
    "liveness",
)


@dataclass(frozen=True)
class RankedArtist:
    """One of a member's top artists. ``rank`` 1 is the favourite."""

    id: str
    rank: int
    name: str = ""
    playcount: int | None = None
    genres: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankedTrack:
    """One of a member's top tracks, with its audio features when some provider knows them."""

    id: str
    rank: int
    name: str = ""
    artist_ids: tuple[str, ...] = ()
    playcount: int | None = None
    audio_features: Mapping[str, float] | None = None


@dataclass(frozen=True)
class TasteProfile:
    """Ranked top artists, optional ranked top tracks; everything else optional."""

    user_id: int
    artists: tuple[RankedArtist, ...]
    tracks: tuple[RankedTrack, ...] = ()
    display_name: str = ""
    guild_ids: tuple[int, ...] = ()
    sources: tuple[str, ...] = field(default=())
