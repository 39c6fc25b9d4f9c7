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

import heapq
import math
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple, TypeVar

from soundsync_core.taste.profile import TasteProfile

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


# The other member's items are tuples, not profile items: a page builds about a hundred of them.
class BridgeTrack(NamedTuple):
    """One of the other member's top tracks; ``name`` may be empty (the id is shown)."""

    id: str
    rank: int
    name: str
    artist_ids: Sequence[str]


class BridgeArtist(NamedTuple):
    """One of the other member's top artists; ``name`` may be empty (the id is shown)."""

    id: str
    rank: int
    name: str
    genres: Sequence[str]


@dataclass(frozen=True)
class BridgeOther:
    """The other member's top tracks (with their artists) and artists (with genres), each list
    best rank first."""

    tracks: Sequence[BridgeTrack]
    artists: Sequence[BridgeArtist]

    @classmethod
    def of(cls, profile: TasteProfile) -> BridgeOther:
        """The other member's side of a whole profile."""
        return cls(
            [BridgeTrack(t.id, t.rank, t.name, t.artist_ids)
             for t in sorted(profile.tracks, key=lambda t: t.rank)],
            [BridgeArtist(a.id, a.rank, a.name, a.genres)
             for a in sorted(profile.artists, key=lambda a: a.rank)],
        )


def profile_bridge(reader: TasteProfile, other: TasteProfile, limit: int = BRIDGE_SIZE) -> list[BridgeItem]:
    """:func:`bridge` between two whole profiles (``/compare`` has both loaded anyway)."""
    return bridge(BridgeReader.of(reader), BridgeOther.of(other), limit)


def bridge(reader: BridgeReader, other: BridgeOther, limit: int = BRIDGE_SIZE) -> list[BridgeItem]:
    """Up to ``limit`` of ``other``'s top tracks and artists for ``reader`` (see the module).

    An artist's genres are all the other member's, so the genres both members have are those
    of its genres the reader has.
    """
    if limit < 1:
        return []
    keys = [*_keys(other.tracks, False, limit, partial(_track_factor, reader)),
            *_keys(other.artists, True, limit, partial(_artist_factor, reader))]
    keys.sort()
    return [_item(reader, other, key) for key in keys[:limit]]


# (-score, rank, is artist, id, index in its list): the best suggestion sorts first.
Key = tuple[float, int, bool, str, int]
Candidate = TypeVar("Candidate", BridgeTrack, BridgeArtist)


def _keys(
    items: Sequence[Candidate], is_artist: bool, limit: int,
    factor: Callable[[Candidate], float | None],
) -> list[Key]:
    """Keys of one list's candidates, enough to hold its ``limit`` best.

    ``factor`` is 1 + link (None for an item the reader lists), so at most 2: as items come best
    rank first, once twice an item's rank weight is below the ``limit``-th best score so far,
    neither it nor any later item can be among the best. A page scores a few dozen of its ~100
    candidates, and builds items for the winners only.
    """
    keys: list[Key] = []
    best: list[float] = []  # the ``limit`` best scores so far, as a heap: best[0] is the lowest
    for index, item in enumerate(items):
        weight = _weight(item.rank)
        if len(best) == limit and 2.0 * weight < best[0]:
            break
        if (boost := factor(item)) is None:
            continue
        score = weight * boost
        if len(best) < limit:
            heapq.heappush(best, score)
        else:
            heapq.heappushpop(best, score)
        keys.append((-score, item.rank, is_artist, item.id, index))
    return keys


def _track_factor(reader: BridgeReader, track: BridgeTrack) -> float | None:
    if track.id in reader.track_ids:
        return None
    return 1.0 if reader.artist_ids.isdisjoint(track.artist_ids) else 2.0


def _artist_factor(reader: BridgeReader, artist: BridgeArtist) -> float | None:
    if artist.id in reader.artist_ids:
        return None
    if not artist.genres:
        return 1.0
    return 1.0 + sum(g in reader.genres for g in artist.genres) / len(artist.genres)


def _weight(rank: int) -> float:
    return 1.0 / math.log2(max(rank, 1) + 1)


def _item(reader: BridgeReader, other: BridgeOther, key: Key) -> BridgeItem:
    score, rank, is_artist, item_id, index = key
    if not is_artist:
        track = other.tracks[index]
        liked = next((a for a in track.artist_ids if a in reader.artist_ids), None)
        return BridgeItem("track", item_id, track.name or item_id, rank, -score,
                          "" if liked is None else reader.artist_name(liked))
    artist = other.artists[index]
    common = next((g for g in artist.genres if g in reader.genres), "")
    return BridgeItem("artist", item_id, artist.name or item_id, rank, -score, common)
