"""Raw compatibility: symmetry, renormalisation over shared views, block = pair scores."""

from __future__ import annotations

import numpy as np
import pytest

from soundsync_core.taste import similarity
from soundsync_core.taste.similarity import (
    TasteVectors,
    block_scores,
    build_vectors,
    member_slice,
    pair_scores,
    view_pair_scores,
)
from tests.unit.taste.taste_synth import community


@pytest.fixture(scope="module")
def mixed():
    full, _ = community(60, 3, seed=1, tracks=True, audio=True, genres=True)
    bare, _ = community(60, 3, seed=2)
    return build_vectors(full[:30] + bare[30:])


def test_scores_are_symmetric(mixed) -> None:
    everyone = member_slice(mixed, np.arange(mixed.n_members))
    block = block_scores(mixed, everyone, everyone)
    np.testing.assert_allclose(block, block.T, atol=1e-6)


def test_block_scores_agree_with_pair_scores(mixed) -> None:
    rows, cols = np.array([0, 5, 40, 59]), np.array([1, 31, 2, 45])
    block = block_scores(mixed, member_slice(mixed, rows), member_slice(mixed, cols))
    pairs = pair_scores(mixed, rows, cols)
    np.testing.assert_allclose(np.diag(block), pairs, atol=1e-5)


def test_artists_only_pair_scores_their_artist_score(mixed) -> None:
    left, right = np.array([31, 40]), np.array([45, 59])
    np.testing.assert_allclose(
        pair_scores(mixed, left, right),
        view_pair_scores(mixed, "artists", left, right),
        atol=1e-6,
    )


def test_views_one_side_lacks_do_not_count(mixed) -> None:
    # Member 0 has every view, member 31 only artists: only the artist view is compared.
    score = pair_scores(mixed, np.array([0]), np.array([31]))
    artist = view_pair_scores(mixed, "artists", np.array([0]), np.array([31]))
    np.testing.assert_allclose(score, artist, atol=1e-6)


def test_dense_views_have_their_chance_level_removed(mixed) -> None:
    assert mixed.baselines["artists"] == 0.0
    assert mixed.baselines["genres"] > 0.0


def test_many_genres_stay_sparse_and_score_the_same(mixed, monkeypatch: pytest.MonkeyPatch) -> None:
    everyone = np.arange(mixed.n_members)
    dense = block_scores(mixed, member_slice(mixed, everyone), member_slice(mixed, everyone))
    monkeypatch.setattr(similarity, "DENSE_COLUMNS", 0)  # as if there were thousands of genres
    fresh = TasteVectors(mixed.items, mixed.audio, mixed.baselines)
    assert fresh.stacked.shape[1] == sum(len(mixed.items[v].ids) for v in ("artists", "tracks", "genres"))
    assert fresh.dense.shape[1] == 2 * len(mixed.audio.features)
    sparse = block_scores(fresh, member_slice(fresh, everyone), member_slice(fresh, everyone))
    np.testing.assert_allclose(sparse, dense, atol=1e-6)
