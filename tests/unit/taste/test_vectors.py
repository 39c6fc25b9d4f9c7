"""Profile vectors: rank/count weights, IDF, the audio summary and its scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundsync_core.taste.audio import build_audio_view, summarise, to_unit
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile
from soundsync_core.taste.similarity import build_vectors, pair_scores
from soundsync_core.taste.vectors import artist_entries, build_item_views, count_factors, rank_weight


def member(uid: int, artists: list[str], tracks: tuple[RankedTrack, ...] = ()) -> TasteProfile:
    ranked = tuple(RankedArtist(a, r, name=a.upper()) for r, a in enumerate(artists, start=1))
    return TasteProfile(user_id=uid, artists=ranked, tracks=tracks)


def track(tid: str, rank: int, **features: float) -> RankedTrack:
    return RankedTrack(tid, rank, artist_ids=("x",), audio_features=features or None)


def test_rank_weight_is_dcg_discount() -> None:
    assert rank_weight(1) == 1.0
    assert rank_weight(3) == pytest.approx(0.5)
    assert rank_weight(2) > rank_weight(10) > rank_weight(100) > 0


def test_count_factors_are_damped_relative_to_the_member() -> None:
    heavy = count_factors([5000, 50])
    light = count_factors([50, 5])
    assert heavy[0] == light[0] == 1.0
    assert heavy[1] == pytest.approx(math.log1p(50) / math.log1p(5000))
    assert count_factors([None, None]) == [1.0, 1.0]
    assert count_factors([100, None])[1] == 1.0  # unknown count → the member's mean factor


def test_artists_only_profiles_build_rows_and_leave_other_views_absent() -> None:
    views = build_item_views([member(1, ["a", "b"]), member(2, ["b", "c", "d"])])
    artists = views["artists"]
    assert artists.matrix.shape == (2, 4)
    np.testing.assert_allclose(np.linalg.norm(artists.matrix.toarray(), axis=1), 1.0, rtol=1e-6)
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
