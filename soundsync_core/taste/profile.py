"""A member's listening profile as every source adapter returns it (DESIGN §3), and the flat,
columnar form of a whole population's profiles that the taste engine reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, count

import numpy as np

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


@dataclass(frozen=True)
class Ragged:
    """Lists of codes stored flat: list ``r`` is ``values[start[r] : start[r + 1]]``."""

    start: np.ndarray  # int64, one more than there are lists
    values: np.ndarray  # int64

    @classmethod
    def coded(cls, lists: Sequence[Sequence[str]], coder: Coder) -> Ragged:
        """Pack lists of strings as their codes."""
        start = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, lists), np.int64, len(lists)), out=start[1:])
        return cls(start, coder.code(list(chain.from_iterable(lists))))

    def expand(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every code of the lists ``rows`` in order, with the position in ``rows`` it came from."""
        lengths = self.start[rows + 1] - self.start[rows]
        which = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
        offset = np.arange(len(which), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return which, self.values[self.start[rows][which] + offset]


@dataclass(frozen=True)
class Listing:
    """Every member's listed artists (or tracks), flat: members in order, each as listed.

    Integer columns, int64 or (as a recluster loads them) int32: code that multiplies them
    casts to int64 first."""

    member: np.ndarray  # row of the member, non-decreasing
    item: np.ndarray  # row of the item table
    rank: np.ndarray
    count: np.ndarray  # playcount; 0 when unknown (a count below 1 tells nothing either)

    @classmethod
    def empty(cls) -> Listing:
        """No member lists anything."""
        return cls(*(np.zeros(0, dtype=np.int64) for _ in range(4)))

    def unlisted(self, n_members: int) -> np.ndarray:
        """Which of ``n_members`` members list nothing here (a boolean mask)."""
        return np.bincount(self.member, minlength=n_members) == 0


@dataclass(frozen=True)
class ProfileTable:
    """A population's profiles as flat arrays: what the taste engine reads, no object per item.

    Artist, track and genre ids are coded (``artist_ids[code]`` …). A listing points at rows of
    an item table, and each row is one (id, catalogue facts) pair: one row per id when the
    profiles come from the database, but profiles made in memory may give the same id other
    genres, artists or audio features in different members, and each member keeps its own.
    An artist's genres are those of the member's last listing of it that has genres; a track's
    artists are those of the member's last listing of it.
    """

    user_ids: np.ndarray  # int64, one per member
    artists: Listing
    tracks: Listing
    artist_ids: np.ndarray  # object: artist code → id
    track_ids: np.ndarray  # object: track code → id
    genre_ids: np.ndarray  # object: genre code → genre
    artist_code: np.ndarray  # artist-table row → artist code
    artist_genres: Ragged  # artist-table row → genre codes
    track_code: np.ndarray  # track-table row → track code
    track_artists: Ragged  # track-table row → artist codes
    track_features: np.ndarray  # track-table row × AUDIO_FEATURES, natural units, NaN = unknown
    artist_names: dict[str, str]  # display names of the listed artists that have one
    track_names: dict[str, str]

    def __len__(self) -> int:
        return len(self.user_ids)

    def without_lists(self) -> ProfileTable:
        """The same members and catalogue without their listings: what a fitted population
        keeps once its vectors are built (the listings are about half of its memory)."""
        return replace(self, artists=Listing.empty(), tracks=Listing.empty())

    @classmethod
    def of(cls, profiles: Sequence[TasteProfile]) -> ProfileTable:
        """The table of profiles held in memory (late joiners, tests, benchmarks)."""
        artist_codes, track_codes, genre_codes = Coder(), Coder(), Coder()
        artists, tracks = _Listings(), _Listings()
        artist_rows: dict[tuple[str, tuple[str, ...]], int] = {}
        track_rows: dict[tuple[str, tuple[str, ...], tuple[float | None, ...] | None], int] = {}
        for member, profile in enumerate(profiles):
            genres_of = {a.id: a.genres for a in profile.artists if a.genres}
            rows = [artist_rows.setdefault((a.id, genres_of.get(a.id, ())), len(artist_rows))
                    for a in profile.artists]
            artists.extend(member, rows, profile.artists)
            artists_of = {t.id: t.artist_ids for t in profile.tracks}
            rows = [track_rows.setdefault((t.id, artists_of[t.id], _feature_values(t)), len(track_rows))
                    for t in profile.tracks]
            tracks.extend(member, rows, profile.tracks)
        artist_code = artist_codes.code([a for a, _ in artist_rows])
        artist_genres = Ragged.coded([g for _, g in artist_rows], genre_codes)
        track_code = track_codes.code([t for t, _, _ in track_rows])
        track_artists = Ragged.coded([a for _, a, _ in track_rows], artist_codes)
        features = [f or (None,) * len(AUDIO_FEATURES) for _, _, f in track_rows]
        return cls(
            user_ids=np.array([p.user_id for p in profiles], dtype=np.int64),
            artists=artists.listing(),
            tracks=tracks.listing(),
            artist_ids=artist_codes.ids(),
            track_ids=track_codes.ids(),
            genre_ids=genre_codes.ids(),
            artist_code=artist_code,
            artist_genres=artist_genres,
            track_code=track_code,
            track_artists=track_artists,
            track_features=feature_table(features),
            artist_names={a.id: a.name for p in profiles for a in p.artists if a.name},
            track_names={t.id: t.name for p in profiles for t in p.tracks if t.name},
        )


def _feature_values(track: RankedTrack) -> tuple[float | None, ...] | None:
    return tuple(map(track.audio_features.get, AUDIO_FEATURES)) if track.audio_features else None


def as_table(members: ProfileTable | Sequence[TasteProfile]) -> ProfileTable:
    """``members`` as a :class:`ProfileTable` (converted when given as profiles)."""
    return members if isinstance(members, ProfileTable) else ProfileTable.of(members)


def feature_table(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """Rows of AUDIO_FEATURES values as floats; unknown, NaN and infinite values become NaN."""
    table = np.array(rows, dtype=float).reshape(len(rows), len(AUDIO_FEATURES))
    table[~np.isfinite(table)] = np.nan
    return table


class Coder:
    """Gives strings dense integer codes, in order of first appearance."""

    def __init__(self) -> None:
        # A missing key takes the next code inside the lookup itself: coding millions of ids is
        # one C-level pass. Only :meth:`code` may look keys up.
        self._index: defaultdict[str, int] = defaultdict(count().__next__)

    @classmethod
    def of(cls, ids: Sequence[str]) -> Coder:
        """A coder that already gave ``ids`` the codes 0, 1, … (in that order)."""
        coder = cls()
        coder.code(ids)
        return coder

    def __len__(self) -> int:
        return len(self._index)

    def code(self, values: Sequence[str]) -> np.ndarray:
        """Codes of many values at once."""
        return np.fromiter(map(self._index.__getitem__, values), np.int64, len(values))

    def ids(self) -> np.ndarray:
        """Code → string, as an object array."""
        ids = np.empty(len(self._index), dtype=object)
        ids[:] = list(self._index)
        return ids


class _Listings:
    """A :class:`Listing` under construction, one member at a time."""

    def __init__(self) -> None:
        self.member: list[int] = []
        self.item: list[int] = []
        self.rank: list[int] = []
        self.count: list[int] = []

    def extend(self, member: int, rows: list[int], items: Sequence[RankedArtist | RankedTrack]) -> None:
        self.member.extend([member] * len(rows))
        self.item.extend(rows)
        self.rank.extend([i.rank for i in items])
        self.count.extend([i.playcount or 0 for i in items])

    def listing(self) -> Listing:
        columns = (self.member, self.item, self.rank, self.count)
        return Listing(*(np.array(column, dtype=np.int64) for column in columns))
