"""The bridge: the other member's favourites the reader lacks, in the stated order."""

from __future__ import annotations

import math

from soundsync_core.taste.bridge import profile_bridge
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
