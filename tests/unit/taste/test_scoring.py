"""The rarity-weighted inner product (issue #11): formula, normalisation, counts, tiny lists, %."""

from __future__ import annotations

import numpy as np
import pytest

from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.percent import reader_percent
from soundsync_core.taste.profile import RankedArtist, TasteProfile
from soundsync_core.taste.similarity import block_scores, build_vectors, member_slice, pair_scores
from soundsync_core.taste.vectors import rank_weights
from tests.unit.taste.taste_synth import artist_id, community


def listing(uid: int, artists: list[str], counts: list[int] | None = None) -> TasteProfile:
    plays = counts or [None] * len(artists)
    return TasteProfile(uid, tuple(
        RankedArtist(a, r, playcount=c) for r, (a, c) in enumerate(zip(artists, plays, strict=True), 1)
    ))


def test_score_is_the_rarity_weighted_inner_product_of_normalised_weights() -> None:
    profiles = [
        listing(1, ["a", "b", "c"]),
        listing(2, ["b", "a", "d"]),
        listing(3, ["a", "e"]),
        listing(4, ["a", "b"]),
    ]
    vectors = build_vectors(profiles)
    df = {"a": 4, "b": 3, "c": 1, "d": 1, "e": 1}

    def weights(artists: list[str]) -> dict[str, float]:
        t = rank_weights(np.arange(1, len(artists) + 1))
        return dict(zip(artists, t / np.linalg.norm(t), strict=True))

    lists = [["a", "b", "c"], ["b", "a", "d"], ["a", "e"], ["a", "b"]]
    t = [weights(artists) for artists in lists]
    twin = np.mean([sum(w * w / df[a] ** 0.6 for a, w in tu.items()) for tu in t])
    want = sum(t[0][a] * t[1][a] / df[a] ** 0.6 for a in ("a", "b")) / twin
    assert pair_scores(vectors, np.array([0]), np.array([1]))[0] == pytest.approx(want, rel=1e-5)


def test_scores_are_symmetric_with_counts_and_tiny_lists() -> None:
    profiles, _ = community(80, 4, seed=3, tracks=True, genres=True)
    profiles += [listing(900, ["pop0"]), listing(901, ["g1a0", "x"], [50, 3])]
    vectors = build_vectors(profiles)
    everyone = member_slice(vectors, np.arange(vectors.n_members))
    block = block_scores(vectors, everyone, everyone)
    np.testing.assert_allclose(block, block.T, atol=1e-6)


def test_a_rare_shared_artist_counts_more_than_a_common_one() -> None:
    crowd = [listing(100 + i, ["common", f"own{i}"]) for i in range(30)]
    vectors = build_vectors([listing(1, ["rare", "common"]), listing(2, ["rare", "x"]),
                             listing(3, ["y", "common"]), *crowd])
    rare_pair, common_pair = pair_scores(vectors, np.array([0, 0]), np.array([1, 2]))
    assert rare_pair > 3 * common_pair > 0  # df 2 vs 32: 2 ** -0.6 against 32 ** -0.6, equal weights


def test_unshared_niche_artists_do_not_lower_a_score() -> None:
    # v1 and v2 share "a" (their favourite) with u; v1's other artists are popular, v2's are
    # unique. A cosine divides by v2's bigger (rarity-inflated) norm; here both score the same.
    crowd = [listing(100 + i, [f"hit{k}" for k in range(5)]) for i in range(30)]
    u = listing(1, ["a", "u1", "u2"])
    v1 = listing(2, ["a", "hit0", "hit1", "hit2", "hit3"])
    v2 = listing(3, ["a", "n1", "n2", "n3", "n4"])
    vectors = build_vectors([u, v1, v2, *crowd])
    with_popular, with_niche = pair_scores(vectors, np.array([0, 0]), np.array([1, 2]))
    assert with_niche == pytest.approx(with_popular, rel=1e-6)


def test_play_counts_are_used_when_present() -> None:
    crowd = [listing(100 + i, [f"c{i}", "z"]) for i in range(10)]
    u = listing(1, ["a", "b"], [1000, 900])
    same = listing(2, ["a", "b"], [1000, 900])  # the same listening concentration
    skewed = listing(3, ["a", "b"], [1000, 5])  # the same ranks, all on "a"
    vectors = build_vectors([u, same, skewed, *crowd])
    to_same, to_skewed = pair_scores(vectors, np.array([0, 0]), np.array([1, 2]))
    assert to_same > to_skewed
    ranks_only = build_vectors([listing(uid, ["a", "b"]) for uid in (1, 2, 3)] + crowd)
    left, right = pair_scores(ranks_only, np.array([0, 0]), np.array([1, 2]))
    assert left == pytest.approx(right)


def test_members_with_tiny_lists_never_flood_top_10s() -> None:
    profiles, _ = community(300, 10, seed=4)
    tiny = [listing(5000 + i, [f"alone{i}"]) for i in range(20)]  # share nothing with anybody
    tiny += [listing(6000 + i, [artist_id(None, 0)]) for i in range(5)]  # one ubiquitous artist
    space = TasteSpace.fit([*profiles, *tiny])
    table = space.top_matches({0: range(space.n_members)}, k=10)
    shown = np.bincount(table.other_idx, minlength=space.n_members)
    assert shown[300:320].sum() == 0  # sharing nothing, they are below everyone who shares
    assert shown[320:].max() <= 10  # a bare "most popular artist" is no hub


def test_percent_reads_100_for_an_identical_twin_and_is_per_reader() -> None:
    profiles = [listing(1, ["a", "b", "c", "d"]), listing(2, ["a", "b", "c", "d"]),
                listing(3, ["a", "x"]), *[listing(10 + i, [f"o{i}", "b"]) for i in range(10)]]
    space = TasteSpace.fit(profiles)
    assert space.compatibility(0, 1).percent == pytest.approx(1.0)
    one_way, other_way = space.compatibility(0, 2), space.compatibility(2, 0)
    assert one_way.raw == other_way.raw
    # The same symmetric score, read against each member's own twin: not symmetric.
    assert 0 < one_way.percent < 1
    assert 0 < other_way.percent < 1
    assert one_way.percent != pytest.approx(other_way.percent, abs=0.05)
    assert reader_percent(np.array([-1.0, 0.5, 3.0]), 1.0).tolist() == [0.0, 0.5, 1.0]
    assert reader_percent(0.4, 0.0) == 0.0
