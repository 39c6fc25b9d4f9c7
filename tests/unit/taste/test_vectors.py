"""Profile vectors: rank/count weights, IDF, the audio summary and its scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundsync_core.taste.audio import build_audio_view, summarise, to_unit
from soundsync_core.taste.kernels import listed_by_rank, non_decreasing
from soundsync_core.taste.profile import AUDIO_FEATURES, RankedArtist, RankedTrack, TasteProfile
from soundsync_core.taste.similarity import build_vectors, pair_scores
from soundsync_core.taste.vectors import (
    MAX_ITEMS_PER_VIEW,
    artist_entries,
    build_item_views,
    count_factors,
    rank_weights,
)


def member(uid: int, artists: list[str], tracks: tuple[RankedTrack, ...] = ()) -> TasteProfile:
    ranked = tuple(RankedArtist(a, r, name=a.upper()) for r, a in enumerate(artists, start=1))
    return TasteProfile(user_id=uid, artists=ranked, tracks=tracks)


def track(tid: str, rank: int, **features: float) -> RankedTrack:
    return RankedTrack(tid, rank, artist_ids=("x",), audio_features=features or None)


def test_rank_weight_is_dcg_discount() -> None:
    weights = rank_weights(np.array([1, 3, 2, 10, 100, 0, 5000]))
    assert weights[0] == 1.0
    assert weights[1] == pytest.approx(0.5)
    assert weights[2] > weights[3] > weights[4] > 0
    assert weights[5] == 1.0  # a rank below 1 counts as the favourite
    assert weights[6] == 1.0 / math.log2(5001)


def test_count_factors_are_damped_relative_to_the_member() -> None:
    # Members 0 (heavy), 1 (light), 2 (no counts), 3 (one count known).
    member = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    factors = count_factors(member, np.array([5000, 50, 50, 5, 0, 0, 100, 0]), 4)
    assert factors[0] == factors[2] == 1.0
    assert factors[1] == pytest.approx(math.log1p(50) / math.log1p(5000))
    assert factors[4:6].tolist() == [1.0, 1.0]
    assert factors[7] == 1.0  # unknown count → the member's mean factor


def test_artists_only_profiles_build_rows_and_leave_other_views_absent() -> None:
    views = build_item_views([member(1, ["a", "b"]), member(2, ["b", "c", "d"])])
    artists = views["artists"]
    assert artists.matrix.shape == (2, 4)
    # The view's common scale: the members' mean score with an identical twin is 1.
    assert float((artists.matrix.toarray() ** 2).sum(axis=1).mean()) == pytest.approx(1.0, rel=1e-6)
    assert artists.present.all()
    assert not views["tracks"].present.any()
    assert not views["genres"].present.any()


def test_artists_and_tracks_views_are_both_present() -> None:
    profile = member(1, ["a"], (track("t1", 1), track("t2", 2)))
    views = build_item_views([profile, member(2, ["a"])])
    assert views["tracks"].present.tolist() == [True, False]
    assert views["tracks"].matrix[0].nnz == 2


def test_top_ranked_artist_weighs_more_than_lower_ranked() -> None:
    views = build_item_views([member(1, ["a", "b", "c"]), member(2, ["c", "b", "a"])])
    row = views["artists"].matrix.toarray()[0]
    col = views["artists"].column_of()
    assert row[col["a"]] > row[col["b"]] > row[col["c"]]


def test_idf_rare_shared_artist_beats_ubiquitous_one() -> None:
    crowd = [member(10 + i, ["pop", f"solo{i}"]) for i in range(20)]
    # Pair 1 shares only the ubiquitous artist, pair 2 only a rare one, at the same ranks.
    profiles = [
        member(1, ["pop", "x1"]),
        member(2, ["pop", "x2"]),
        member(3, ["rare", "x3"]),
        member(4, ["rare", "x4"]),
        *crowd,
    ]
    vectors = build_vectors(profiles)
    common, rare = pair_scores(vectors, np.array([0, 2]), np.array([1, 3]))
    assert rare > common > 0


def test_audio_summary_does_not_depend_on_track_order() -> None:
    a = track("t1", 1, energy=0.9, loudness=-5.0)
    b = track("t2", 2, energy=0.2, loudness=-20.0)
    shuffled = [
        TasteProfile(1, (), (a, b)),
        TasteProfile(1, (), (b, a)),
    ]
    first, second = (summarise(p) for p in shuffled)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_loudness_and_tempo_are_scaled_to_unit_range_before_mixing() -> None:
    assert to_unit("loudness", -60.0) == 0.0
    assert to_unit("loudness", 0.0) == 1.0
    assert to_unit("loudness", -30.0) == pytest.approx(0.5)
    assert 0.0 < to_unit("tempo", 120.0) < 1.0
    assert to_unit("energy", 1.7) == 1.0
    unit, natural = summarise(TasteProfile(1, (), (track("t", 1, loudness=-6.0, tempo=130.0),)))
    assert np.nanmax(unit) <= 1.0
    assert np.nanmin(unit) >= 0.0
    assert natural[4] == pytest.approx(-6.0)  # reasons still speak dB


def test_members_without_audio_have_no_audio_view() -> None:
    with_audio = [TasteProfile(i, (), (track("t", 1, energy=i / 10, danceability=0.5),)) for i in range(4)]
    silent = TasteProfile(9, (RankedArtist("a", 1),), (track("t", 1),))
    view = build_audio_view([*with_audio, silent])
    assert view.present.tolist() == [True, True, True, True, False]
    assert not view.vectors[4].any()


def test_artists_fall_back_to_track_artists_when_missing() -> None:
    tracks = (RankedTrack("t1", 1, artist_ids=("z",)), RankedTrack("t2", 2, artist_ids=("y",)))
    views = build_item_views([TasteProfile(1, (), tracks), member(2, ["z"])])
    assert views["artists"].present.all()


def test_artist_entries_are_weighted_best_first() -> None:
    entries = artist_entries(member(1, ["a", "b", "a"]))
    assert [(e.item, e.rank) for e in entries] == [("a", 1), ("b", 2)]
    assert entries[0].weight == 1.0


def test_exact_weights_ranks_and_columns_of_a_small_population() -> None:
    """Known values: dedup at the best rank, counts, derived artists, genres, column order."""
    first = TasteProfile(1, (
        RankedArtist("b", 2, playcount=10, genres=("rock",)),
        RankedArtist("a", 1, playcount=100),
        RankedArtist("b", 5, genres=("pop", "rock")),  # listed again: its genres win, its rank not
        RankedArtist("c", 3, genres=("pop",)),
    ))
    tracks = (
        RankedTrack("t1", 1, artist_ids=("x", "y")),
        RankedTrack("t2", 2, artist_ids=("y",)),
        RankedTrack("t3", 3, artist_ids=("z",)),
    )
    second = TasteProfile(2, (), tracks)
    views = build_item_views([first, second])
    artists = views["artists"]
    assert artists.ids.tolist() == ["a", "b", "c", "y", "x", "z"]
    ranks = artists.ranks.toarray()
    assert ranks[0].tolist() == [1, 2, 3, 0, 0, 0]
    assert ranks[1].tolist() == [0, 0, 0, 1, 2, 3]  # y (t1 + t2) before x (t1), then z
    a, b = 100**0.75, 10**0.75  # counted members are weighted by plays ** 0.75
    raw_first = np.array([a, b, (a + b) / 2])  # c has no count: the member's mean count weight
    # Every artist has df = 1 (rarity 1) and both rows have self-score 1: the scale is 1.
    want = raw_first / np.linalg.norm(raw_first)
    np.testing.assert_allclose(artists.matrix.toarray()[0, :3], want, rtol=1e-6)
    derived = np.array([1.0 + 1 / math.log2(3), 1.0, 0.5])
    np.testing.assert_allclose(artists.matrix.toarray()[1, 3:], derived / np.linalg.norm(derived), rtol=1e-6)
    genres = views["genres"]
    assert genres.ids.tolist() == ["pop", "rock"]
    assert genres.ranks.toarray().tolist() == [[2, 2], [0, 0]]
    assert genres.present.tolist() == [True, False]  # derived artists carry no genres
    pop, rock = b + (a + b) / 2, b
    want = np.array([pop, rock]) / math.hypot(pop, rock)
    np.testing.assert_allclose(genres.matrix.toarray()[0], want, rtol=1e-6)
    assert views["tracks"].ids.tolist() == ["t1", "t2", "t3"]


def test_each_member_list_is_capped_at_its_best_items() -> None:
    long = TasteProfile(1, tuple(RankedArtist(f"a{k}", 700 - k) for k in range(700)))
    artists = build_item_views([long])["artists"]
    assert artists.matrix.nnz == MAX_ITEMS_PER_VIEW
    assert artists.ids[0] == "a699"  # rank 1
    assert artists.ranks.data.max() == MAX_ITEMS_PER_VIEW


def test_audio_means_weigh_tracks_by_rank_and_count_and_skip_unknown_values() -> None:
    tracks = (
        RankedTrack("t1", 1, playcount=9, audio_features={"energy": 0.8, "tempo": float("nan")}),
        RankedTrack("t2", 3, audio_features={"energy": 0.2, "tempo": 100.0}),
        RankedTrack("t3", 2, playcount=3),
    )
    _, natural = summarise(TasteProfile(1, (), tracks))
    w1 = 1.0
    fill = (1.0 + math.log1p(3) / math.log1p(9)) / 2
    w2 = 0.5 * fill
    assert natural[AUDIO_FEATURES.index("energy")] == pytest.approx((0.8 * w1 + 0.2 * w2) / (w1 + w2))
    assert natural[AUDIO_FEATURES.index("tempo")] == pytest.approx(100.0)
    assert np.isnan(natural[AUDIO_FEATURES.index("valence")])


def test_order_checks_find_the_first_listing_out_of_order() -> None:
    member = np.array([0, 0, 0, 1, 1, 2], dtype=np.int64)
    assert non_decreasing(member)
    assert not non_decreasing(member[::-1].copy())
    assert non_decreasing(np.zeros(0, dtype=np.int64))
    rank = np.array([1, 2, 2, 1, 3, 1], dtype=np.int64)
    assert listed_by_rank(member, rank)
    rank[4] = 0  # member 1 lists rank 3, then rank 0
    assert not listed_by_rank(member, rank)


def test_members_listed_out_of_rank_order_get_the_vectors_of_the_sorted_listing() -> None:
    best_first = TasteProfile(1, (RankedArtist("a", 1), RankedArtist("b", 2), RankedArtist("c", 3)))
    shuffled = TasteProfile(1, (RankedArtist("c", 3), RankedArtist("a", 1), RankedArtist("b", 2)))
    other = TasteProfile(2, (RankedArtist("b", 1), RankedArtist("c", 2)))
    sorted_view = build_vectors([best_first, other]).items["artists"]
    shuffled_view = build_vectors([shuffled, other]).items["artists"]
    assert sorted_view.ids.tolist() == shuffled_view.ids.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(shuffled_view.matrix.toarray(), sorted_view.matrix.toarray())
    np.testing.assert_array_equal(shuffled_view.ranks.toarray(), sorted_view.ranks.toarray())
