"""Artist tags as genres: Last.fm's ``artist.getTopTags`` turned into a few genre names, and
the cache port that keeps them per artist so they are fetched rarely.

Tags are what listeners typed, so only the strong ones count as genres: a tag needs a weight
of at least :data:`MIN_TAG_COUNT` (Last.fm scales the top tag to 100), words that describe the
listener rather than the music ("seen live", "favorites") are dropped, and so is a tag that is
just the artist's own name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from soundsync_core.profiles.identity import normalise_artist_name
from soundsync_core.taste.profile import RankedArtist

GENRES_PER_ARTIST = 5
MIN_TAG_COUNT = 10
# Tags change slowly; a quarter-old tag set is still a fair picture of an artist.
TAGS_MAX_AGE = 90 * 24 * 3600.0
_NOT_GENRES = frozenset({
    "seen live", "favorites", "favourites", "favorite", "favourite", "my favorites",
    "albums i own", "love", "awesome", "beautiful", "spotify", "under 2000 listeners",
})


def genres_from_tags(artist_name: str, tags: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The genre names in an ``artist.getTopTags`` tag list, strongest first."""
    own_name = normalise_artist_name(artist_name)
    genres: list[str] = []
    for tag in tags:
        name = " ".join(str(tag.get("name", "")).split()).lower()
        try:
            count = int(tag.get("count", 0))
        except (TypeError, ValueError):
            count = 0
        if (
            not name or count < MIN_TAG_COUNT or name in _NOT_GENRES or name in genres
            or normalise_artist_name(name) == own_name
        ):
            continue
        genres.append(name)
        if len(genres) == GENRES_PER_ARTIST:
            break
    return tuple(genres)


class ArtistTagCache(Protocol):
    """Where an adapter keeps each artist's genres between refreshes (the ``artists`` table)."""

    async def fresh(self, artist_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The genres of those artists whose tags were fetched recently enough."""
        ...

    async def remember(self, artists: Sequence[RankedArtist]) -> None:
        """Record the artists' freshly fetched ``genres`` (empty: the artist has none)."""
        ...


class MemoryTagCache:
    """An in-process :class:`ArtistTagCache` (tests, one-off commands)."""

    def __init__(self, max_age: float = TAGS_MAX_AGE, clock: Callable[[], float] = time.time) -> None:
        self._max_age = max_age
        self._clock = clock
        self._genres: dict[str, tuple[float, tuple[str, ...]]] = {}

    async def fresh(self, artist_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The cached genres younger than ``max_age``."""
        oldest = self._clock() - self._max_age
        return {
            a: entry[1] for a in artist_ids
            if (entry := self._genres.get(a)) is not None and entry[0] >= oldest
        }

    async def remember(self, artists: Sequence[RankedArtist]) -> None:
        """Keep the artists' genres with the current time."""
        now = self._clock()
        self._genres.update({a.id: (now, a.genres) for a in artists})
