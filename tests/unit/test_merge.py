"""Merging a member's sources keeps play counts (the largest per item) and re-derives the ranks."""

from __future__ import annotations

from soundsync_core.profiles.merge import merge_profiles
from soundsync_core.taste.profile import RankedArtist, TasteProfile


def source(name: str, artists: list[tuple[str, int | None]]) -> TasteProfile:
    ranked = tuple(RankedArtist(a, r, playcount=c) for r, (a, c) in enumerate(artists, 1))
    return TasteProfile(1, ranked, sources=(name,))


def test_counted_sources_keep_the_largest_count_and_rank_by_it() -> None:
    lastfm = source("lastfm", [("a", 100), ("b", 60), ("c", 10)])
    export = source("spotify_export", [("c", 200), ("b", 30)])
    merged = merge_profiles([lastfm, export])
    got = [(a.id, a.rank, a.playcount) for a in merged.artists]
    # The same plays scrobbled to two services count once: the largest, never the sum.
    assert got == [("c", 1, 200), ("a", 2, 100), ("b", 3, 60)]


def test_a_ranks_only_source_keeps_fusion_order_and_the_others_counts() -> None:
    lastfm = source("lastfm", [("a", 100), ("b", 60)])
    spotify = source("spotify", [("b", None), ("c", None)])
    merged = merge_profiles([spotify, lastfm])
    assert [a.id for a in merged.artists] == ["b", "a", "c"]  # reciprocal-rank fusion
    assert {a.id: a.playcount for a in merged.artists} == {"a": 100, "b": 60, "c": None}
    assert merged == merge_profiles([lastfm, spotify])  # order-independent
