"""A match's "bridge": a few of the other member's favourites the reader does not list yet.

Candidates are the other member's top tracks and top artists that are **not** in the reader's
lists (by id; a track counts as known when the reader lists it). Each is scored

    score = 1 / log2(rank + 1)  ×  (1 + link)

where ``rank`` is the item's rank in the other member's list (how much *they* love it) and
``link`` says how it connects to what the two members share: for a track, 1 when one of its
artists is an artist the reader lists (a new song by someone they already like); for an
artist, the share of its genres that both members have. Highest score first, then the other
member's rank, then tracks before artists, then the id — so the bridge leads from common
ground to new music.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

BRIDGE_SIZE = 5


@dataclass(frozen=True)
class BridgeItem:
    """One suggestion: ``kind`` is ``track`` or ``artist``; ``via`` names the common ground."""

    kind: str
    id: str
    name: str
    rank: int
    score: float
    via: str = ""


@dataclass(frozen=True)
class BridgeReader:
    """All the bridge reads of the reader: the ids they list and the genres of their artists.

    ``artist_names`` needs only the artists a suggested track can be by; an artist without a
    (non-empty) name shows its id.
    """

    artist_ids: Set[str]
    track_ids: Set[str]
    genres: Set[str]
    artist_names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: TasteProfile) -> BridgeReader:
        """The reader's side of a whole profile."""
        return cls(
            artist_ids={a.id for a in profile.artists},
            track_ids={t.id for t in profile.tracks},
            genres={genre for artist in profile.artists for genre in artist.genres},
            artist_names={a.id: a.name for a in profile.artists},
        )

    def artist_name(self, artist_id: str) -> str:
        """What the reader sees for one of their artists."""
        return self.artist_names.get(artist_id) or artist_id


@dataclass(frozen=True)
class BridgeOther:
    """The other member's ranked top tracks (with their artists) and artists (with genres)."""

    tracks: Sequence[RankedTrack]
    artists: Sequence[RankedArtist]


def profile_bridge(reader: TasteProfile, other: TasteProfile, limit: int = BRIDGE_SIZE) -> list[BridgeItem]:
    """:func:`bridge` between two whole profiles (``/compare`` has both loaded anyway)."""
    return bridge(BridgeReader.of(reader), BridgeOther(other.tracks, other.artists), limit)


def bridge(reader: BridgeReader, other: BridgeOther, limit: int = BRIDGE_SIZE) -> list[BridgeItem]:
    """Up to ``limit`` of ``other``'s top tracks and artists for ``reader`` (see the module).

    An artist's genres are all the other member's, so the genres both members have are those
    of its genres the reader has.
    """
    known_artists, genres = reader.artist_ids, reader.genres
    # Sort keys first and build items for the winners only: a match has ~100 candidates.
    keys: list[tuple[float, int, bool, str, int]] = []
    for index, track in enumerate(other.tracks):
        if track.id not in reader.track_ids:
            liked = any(a in known_artists for a in track.artist_ids)
            keys.append((-_weight(track.rank) * (2.0 if liked else 1.0), track.rank, False,
                         track.id, index))
    for index, artist in enumerate(other.artists):
        if artist.id not in known_artists:
            common = sum(g in genres for g in artist.genres)
            link = common / len(artist.genres) if artist.genres else 0.0
            keys.append((-_weight(artist.rank) * (1.0 + link), artist.rank, True, artist.id, index))
    keys.sort()
    return [_item(reader, other, key) for key in keys[:limit]]


def _weight(rank: int) -> float:
    return 1.0 / math.log2(max(rank, 1) + 1)


def _item(reader: BridgeReader, other: BridgeOther, key: tuple[float, int, bool, str, int]) -> BridgeItem:
    score, rank, is_artist, item_id, index = key
    if not is_artist:
        track = other.tracks[index]
        liked = next((a for a in track.artist_ids if a in reader.artist_ids), None)
        return BridgeItem("track", item_id, track.name or item_id, rank, -score,
                          "" if liked is None else reader.artist_name(liked))
    artist = other.artists[index]
    common = next((g for g in artist.genres if g in reader.genres), "")
    return BridgeItem("artist", item_id, artist.name or item_id, rank, -score, common)
