"""One taste across sources: the one rule by which artists (and tracks) from Spotify, Last.fm,
ListenBrainz and the Spotify data export are recognised as the same.

Canonical ids, strongest evidence first:

* ``mbid:<uuid>`` — a MusicBrainz id (Last.fm and ListenBrainz give one for most artists and
  recordings). Two sources that both know the MBID always meet.
* the Spotify id, bare (``4Z8W4fKeB5YxbusRsdQVPb``) — what the Spotify API and the extended
  export know. This is the id every profile stored before MBIDs existed uses, so it stays.
* ``name:<key>`` — anything known by name only; ``key`` is :func:`normalise_artist_name`
  (for tracks ``name:<artist key> — <title key>``, :func:`normalise_title`).

:func:`canonical_artist_id` picks the id from what one source knows. Sources that know
different kinds of evidence (Spotify knows a Spotify id, Last.fm an MBID, the export a name)
meet through the catalogue, the ``artists`` table: :class:`ArtistIndex` resolves an incoming
artist to the id the catalogue already holds — by MBID when a catalogue row carries that MBID
(``artists.mbid``, migration 0013), else by the normalised name when exactly one catalogue
artist has it (two bands can share a name; an ambiguous name is never guessed) — and only
when the catalogue knows nothing falls back to the artist's own canonical id. Whoever
resolves first thus defines the id, and later sources join it. A Spotify id keeps itself
when the catalogue has it or another Spotify artist of that name (Spotify tells its namesakes
apart); arriving after Last.fm or ListenBrainz brought the artist (an ``mbid:`` or ``name:``
row, the only one of that name), it joins that id, so the order in which members link does
not decide whether they meet. The database side is
:func:`soundsync_core.repositories.artist_catalogue.resolve_artist_ids` (it also records each
artist's MBID and name key); :func:`evidence_of` reads an adapter's artist back into evidence
and :func:`rekey` rewrites the adapter's lists with the resolved ids.

Play counts across sources (:func:`merge_playcounts`): the merged count of one canonical
artist is the **largest** count any single source gives, not the sum. Members often scrobble
the same plays to Last.fm and ListenBrainz at once (and ListenBrainz imports Spotify and
Last.fm history), so a sum would count one listen two or three times; the maximum is never
more than the member listened, and sources without counts (the Spotify API) add nothing.
Within one source, two entries that map to the same canonical id (``Beyonce`` and
``Beyoncé`` without MBIDs) are one artist and their counts add up (:func:`combine_counts`).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from soundsync_core.taste.profile import RankedArtist, RankedTrack

MBID_PREFIX = "mbid:"
NAME_PREFIX = "name:"

# Letters that Unicode does not decompose into a base letter plus an accent.
_TRANSLITERATE = str.maketrans({
    "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d", "þ": "th", "ł": "l",
    "ı": "i", "ħ": "h", "ŧ": "t",
})
# Only the Latin/Greek/Cyrillic combining accents go: Japanese voicing marks (U+3099) and
# other scripts' marks carry meaning and stay.
_ACCENTS = re.compile("[\u0300-\u036f]")
# "feat." credits: "Artist feat. Guest", "Artist (ft. Guest)", "Artist featuring Guest".
_FEATURING = re.compile(r"\s*[(\[]?\s*\b(?:feat|ft|featuring)\b\.?\s.*$")
_TRAILING_THE = re.compile(r"^(?P<name>.+),\s*the$")
_LEADING_THE = re.compile(r"^the\s+(?=\S)")
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    """Compatibility forms, case and Latin accents folded; other scripts kept as written."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLITERATE)
    stripped = _ACCENTS.sub("", unicodedata.normalize("NFKD", folded))
    return unicodedata.normalize("NFC", stripped)


def _clean(text: str) -> str:
    """Punctuation dropped (``AC/DC`` → ``acdc``), ``&`` read as "and", spaces collapsed."""
    spaced = text.replace("&", " and ").replace("+", " and ")
    return _SPACES.sub(" ", _PUNCTUATION.sub("", spaced)).strip()


def normalise_artist_name(name: str) -> str:
    """The key artist names are compared by (see the module docstring for the rule).

    Case, width, Latin accents and punctuation are folded, ``&`` is "and", a featuring credit
    is dropped and a leading (or trailing ``, The``) article "The" is ignored unless only "the"
    would remain (``The The`` stays ``the the``). A name made only of punctuation (``!!!``)
    keeps its characters.
    """
    folded = _fold(name).strip()
    if trailing := _TRAILING_THE.match(folded):
        folded = "the " + trailing["name"]
    credited = _FEATURING.sub("", folded) or folded
    cleaned = _clean(credited)
    if not cleaned:
        return _SPACES.sub(" ", folded).strip()
    without_article = _LEADING_THE.sub("", cleaned)
    # "The The" is a band, not an article twice: it keeps both words.
    return cleaned if without_article == "the" else without_article


def normalise_title(title: str) -> str:
    """The key track titles are compared by: like artist names, but "The" is kept."""
    folded = _fold(title).strip()
    credited = _FEATURING.sub("", folded) or folded
    return _clean(credited) or _SPACES.sub(" ", folded).strip()


def as_mbid(value: str | None) -> str | None:
    """The canonical (lower-case) form of a MusicBrainz id, or None when ``value`` is not one.

    MusicBrainz ids are random (version 4) UUIDs. Last.fm sometimes fills ``mbid`` with ids of
    its own (version 3, name-based) that MusicBrainz has never heard of; those are not MBIDs.
    """
    if not value:
        return None
    try:
        parsed = uuid.UUID(value.strip())
    except ValueError:
        return None
    return str(parsed) if parsed.version == 4 else None


def name_artist_id(name: str) -> str:
    """The id of an artist known by name only: the same for every source and member."""
    return NAME_PREFIX + normalise_artist_name(name)


def name_track_id(artist_name: str, title: str) -> str:
    """The id of a track known by name only (titles alone repeat across artists)."""
    return f"{NAME_PREFIX}{normalise_artist_name(artist_name)} — {normalise_title(title)}"


def canonical_artist_id(mbid: str | None, spotify_id: str | None, name: str | None) -> str:
    """The canonical id from what one source knows: MBID, else Spotify id, else name."""
    if (known := as_mbid(mbid)) is not None:
        return MBID_PREFIX + known
    if spotify_id:
        return spotify_id
    if name and name.strip():
        return name_artist_id(name)
    raise ValueError("an artist needs an MBID, a Spotify id or a name")


def canonical_track_id(
    mbid: str | None, spotify_id: str | None, artist_name: str, title: str
) -> str:
    """The canonical id of a track: recording MBID, else Spotify id, else artist and title."""
    if (known := as_mbid(mbid)) is not None:
        return MBID_PREFIX + known
    if spotify_id:
        return spotify_id
    return name_track_id(artist_name, title)


def mbid_of(artist_id: str) -> str | None:
    """The MBID inside an ``mbid:`` id, else None."""
    return artist_id.removeprefix(MBID_PREFIX) if artist_id.startswith(MBID_PREFIX) else None


Evidence = tuple[str | None, str | None, str]  # (mbid, spotify id, name)


def evidence_of(artist: RankedArtist) -> Evidence:
    """What an adapter's artist tells about its identity, read back from its canonical id."""
    if artist.id.startswith(MBID_PREFIX):
        return mbid_of(artist.id), None, artist.name
    if artist.id.startswith(NAME_PREFIX):
        return None, None, artist.name
    return None, artist.id, artist.name


def rekey(
    artists: Sequence[RankedArtist], tracks: Sequence[RankedTrack], ids: Mapping[str, str]
) -> tuple[tuple[RankedArtist, ...], tuple[RankedTrack, ...]]:
    """One source's lists with artist ids replaced by ``ids`` (old → catalogue id).

    Two artists that turn out to be one keep the better rank and add their counts; ranks are
    renumbered 1, 2, … in the original order.
    """
    merged: dict[str, RankedArtist] = {}
    for artist in artists:
        new_id = ids.get(artist.id, artist.id)
        if (seen := merged.get(new_id)) is None:
            merged[new_id] = RankedArtist(new_id, len(merged) + 1, artist.name, artist.playcount,
                                          artist.genres)
        else:
            merged[new_id] = RankedArtist(new_id, seen.rank, seen.name,
                                          combine_counts(seen.playcount, artist.playcount),
                                          seen.genres or artist.genres)
    rekeyed_tracks = tuple(
        RankedTrack(t.id, t.rank, t.name, tuple(dict.fromkeys(ids.get(a, a) for a in t.artist_ids)),
                    t.playcount, t.audio_features)
        for t in tracks
    )
    return tuple(merged.values()), rekeyed_tracks


def merge_playcounts(counts: Iterable[int | None]) -> int | None:
    """One artist's play count across sources: the largest any source gives (see module)."""
    known = [c for c in counts if c is not None]
    return max(known) if known else None


def combine_counts(first: int | None, second: int | None) -> int | None:
    """Two entries of one source that are the same artist: their plays add up."""
    if first is None or second is None:
        return first if second is None else second
    return first + second


@dataclass(frozen=True)
class CatalogueArtist:
    """What the catalogue (``artists`` table) knows of one artist."""

    artist_id: str
    name: str
    mbid: str | None = None


@dataclass
class ArtistIndex:
    """Resolves artists to the ids the catalogue already uses (the meeting rule above)."""

    by_mbid: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, set[str]] = field(default_factory=dict)
    mbid_of_id: dict[str, str] = field(default_factory=dict)
    # Every catalogue id by name key, ``name:`` rows included (what a Spotify id may join).
    any_by_name: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, catalogue: Iterable[CatalogueArtist]) -> ArtistIndex:
        """An index over catalogue rows (``name:`` rows are names, not evidence, and are skipped)."""
        index = cls()
        for row in catalogue:
            index.any_by_name.setdefault(normalise_artist_name(row.name), set()).add(row.artist_id)
            if row.artist_id.startswith(NAME_PREFIX):
                continue
            if (known := as_mbid(row.mbid) or mbid_of(row.artist_id)) is not None:
                index.by_mbid.setdefault(known, row.artist_id)
                index.mbid_of_id[row.artist_id] = known
            index.by_name.setdefault(normalise_artist_name(row.name), set()).add(row.artist_id)
        return index

    def resolve(self, mbid: str | None, spotify_id: str | None, name: str | None) -> str:
        """The catalogue's id for this artist when it is sure, else the canonical id."""
        if spotify_id:
            return self._spotify(spotify_id, name)
        known = as_mbid(mbid)
        if known is not None and known in self.by_mbid:
            return self.by_mbid[known]
        holders = self.by_name.get(normalise_artist_name(name), set()) if name else set()
        if len(holders) == 1:
            holder = next(iter(holders))
            # A catalogue artist of the same name with another MBID is another artist.
            if known is None or self.mbid_of_id.get(holder, known) == known:
                return holder
        return canonical_artist_id(known, None, name)

    def _spotify(self, spotify_id: str, name: str | None) -> str:
        """A Spotify id, or the one non-Spotify catalogue artist of its name it arrives after."""
        holders = self.any_by_name.get(normalise_artist_name(name), set()) if name else set()
        if spotify_id in holders or len(holders) != 1:
            return spotify_id
        holder = next(iter(holders))
        return holder if holder.startswith((MBID_PREFIX, NAME_PREFIX)) else spotify_id

    def resolve_all(
        self, artists: Mapping[str, tuple[str | None, str | None, str]]
    ) -> dict[str, str]:
        """``{key: (mbid, spotify_id, name)}`` → ``{key: id}``."""
        return {key: self.resolve(*evidence) for key, evidence in artists.items()}
