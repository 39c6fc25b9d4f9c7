"""The bridge: the other member's favourites the reader lacks, in the stated order."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from soundsync_core.taste.bridge import BridgeItem, profile_bridge
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

READER = TasteProfile(1, (
    RankedArtist("radiohead", 1, "Radiohead", genres=("art rock",)),
    RankedArtist("bjork", 2, "Björk", genres=("art pop",)),
), (RankedTrack("reckoner", 1, "Reckoner", ("radiohead",)),))
OTHER = TasteProfile(2, (
    RankedArtist("radiohead", 1, "Radiohead", genres=("art rock",)),
    RankedArtist("metal-band", 2, "Metal Band", genres=("metal",)),
    RankedArtist("portishead", 3, "Portishead", genres=("trip hop", "art rock")),
), (
    RankedTrack("reckoner", 1, "Reckoner", ("radiohead",)),
    RankedTrack("riff", 2, "Riff", ("metal-band",)),
    RankedTrack("nude", 3, "Nude", ("radiohead",)),
))


def test_items_come_from_the_other_members_lists_and_not_the_readers() -> None:
    items = profile_bridge(READER, OTHER, limit=10)
    theirs = {a.id for a in OTHER.artists} | {t.id for t in OTHER.tracks}
    mine = {a.id for a in READER.artists} | {t.id for t in READER.tracks}
    assert items
    assert all(item.id in theirs and item.id not in mine for item in items)


def test_items_are_ordered_by_their_weight_and_link_to_shared_taste() -> None:
    items = profile_bridge(READER, OTHER, limit=10)
    # Nude: rank 3, by Radiohead (both list them) → 2/log2(4) = 1.0. Riff: rank 2, no link →
    # 1/log2(3). Portishead: rank 3, half its genres shared → 1.5/log2(4). Metal Band: 1/log2(3).
    assert [(i.id, i.via) for i in items] == [
        ("nude", "Radiohead"), ("portishead", "art rock"), ("riff", ""), ("metal-band", "")]
    assert items[0].score == 1.0
    assert items[1].score == 0.75
    assert items[2].score == 1 / math.log2(3)
    assert len(profile_bridge(READER, OTHER, limit=2)) == 2


def test_nothing_new_means_an_empty_bridge() -> None:
    assert profile_bridge(READER, READER) == []


# Few ids, genres and ranks, so that lists overlap, links happen and scores tie.
_ARTIST_IDS = st.sampled_from([f"a{i}" for i in range(12)])
_GENRES = st.lists(st.sampled_from(["rock", "pop", "jazz", "folk"]), max_size=3)
_RANKS = st.integers(min_value=1, max_value=40)
_ARTISTS = st.lists(st.builds(RankedArtist, _ARTIST_IDS, _RANKS, st.just(""), st.none(),
                              _GENRES.map(tuple)), max_size=25)
_TRACKS = st.lists(st.builds(RankedTrack, st.sampled_from([f"t{i}" for i in range(30)]), _RANKS,
                             st.sampled_from(["", "Song"]), st.lists(_ARTIST_IDS, max_size=2).map(tuple)),
                   max_size=40)


def _weight(rank: int) -> float:
    return 1.0 / math.log2(rank + 1)


def _every_candidate(reader: TasteProfile, other: TasteProfile) -> list[tuple]:
    """The module's rule applied to every item of the other member, best first."""
    artists = {a.id for a in reader.artists}
    tracks = {t.id for t in reader.tracks}
    genres = {g for a in reader.artists for g in a.genres}
    scored = [(-_weight(t.rank) * (2.0 if artists & set(t.artist_ids) else 1.0), t.rank, False, t.id)
              for t in other.tracks if t.id not in tracks]
    scored += [(-_weight(a.rank) * (1.0 + (sum(g in genres for g in a.genres) / len(a.genres)
                                            if a.genres else 0.0)), a.rank, True, a.id)
               for a in other.artists if a.id not in artists]
    return sorted(scored)


def _key(item: BridgeItem) -> tuple:
    return (-item.score, item.rank, item.kind == "artist", item.id)


@settings(max_examples=300, deadline=None)
@given(_ARTISTS, _TRACKS, _ARTISTS, _TRACKS, st.integers(min_value=1, max_value=8))
def test_the_best_items_are_those_of_scoring_every_candidate(
    my_artists: list[RankedArtist], my_tracks: list[RankedTrack],
    their_artists: list[RankedArtist], their_tracks: list[RankedTrack], limit: int,
) -> None:
    # Lists in any rank order: only some candidates are scored, never a better one left out.
    reader = TasteProfile(1, tuple(my_artists), tuple(my_tracks))
    other = TasteProfile(2, tuple(their_artists), tuple(their_tracks))
    got = [_key(item) for item in profile_bridge(reader, other, limit=limit)]
    assert got == _every_candidate(reader, other)[:limit]
