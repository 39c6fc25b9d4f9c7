"""The shared-item candidate search: exact scores, no self or hidden, recall with a small budget."""

from __future__ import annotations

import numpy as np
import pytest

from soundsync_core.taste import neighbours as neighbours_module
from soundsync_core.taste import shared_items
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.neighbours import Exclusions, Masks, neighbours, rank_block
from soundsync_core.taste.profile import RankedArtist, TasteProfile
from soundsync_core.taste.similarity import block_scores, member_slice
from tests.unit.taste.taste_synth import community

# With this budget about half of the community's items are common: the split really matters.
SMALL_BUDGET = 100


def _profiles() -> list[TasteProfile]:
    profiles, _ = community(1500, 15, seed=7, group_share=0.5, tracks=True)
    return profiles


@pytest.fixture(scope="module")
def space() -> TasteSpace:
    return TasteSpace.fit(_profiles())


@pytest.fixture
def small_budget(monkeypatch) -> None:
    monkeypatch.setattr(shared_items, "PAIR_BUDGET", SMALL_BUDGET)
    monkeypatch.setattr(neighbours_module, "EXACT_LIMIT", 100)


def test_candidates_are_scored_exactly(space, small_budget) -> None:
    scope = np.arange(space.n_members)
    index = shared_items.scope_index(space.vectors, scope)
    assert index.common_items > 500
    queries = np.arange(0, 300)
    found = shared_items.best_candidates(index, queries, np.zeros(space.n_members, dtype=bool))
    got = shared_items.exact_scores(space.vectors, index, queries, found)
    block = block_scores(space.vectors, member_slice(space.vectors, queries),
                         member_slice(space.vectors, scope))
    np.testing.assert_allclose(got, block[found.row, found.col], rtol=1e-5, atol=1e-6)
    assert np.bincount(found.row).max() <= shared_items.CANDIDATES


def test_candidates_are_never_the_member_nor_hidden(space, small_budget) -> None:
    hidden = np.zeros(space.n_members, dtype=bool)
    hidden[::7] = True
    index = shared_items.scope_index(space.vectors, np.arange(space.n_members))
    queries = np.arange(200, 600)
    found = shared_items.best_candidates(index, queries, hidden)
    assert len(found.row) > 0
    assert not np.any(found.col == queries[found.row])
    assert not hidden[index.scope[found.col]].any()


def test_leaving_out_the_most_listed_items_keeps_the_exact_top_10(space, monkeypatch) -> None:
    # 1,000 co-listings per member here leave out the ~60 items most listed (the planted
    # community's popular artists, shared across groups); 100 would leave out half the items.
    monkeypatch.setattr(shared_items, "PAIR_BUDGET", 1_000)
    monkeypatch.setattr(neighbours_module, "EXACT_LIMIT", 100)
    scope = np.arange(space.n_members)
    assert shared_items.scope_index(space.vectors, scope).common_items > 50
    searched = neighbours(space.vectors, scope, 10)
    masks = Masks.of(Exclusions(), space.n_members)
    _, exact, _ = rank_block(space.vectors, masks, scope, scope, scope, 10)
    hits = sum(len(set(e) & set(s)) for e, s in zip(exact.tolist(), searched.others.tolist(), strict=True))
    assert hits / exact.size >= 0.95


def test_a_member_of_only_common_items_is_scored_against_everyone(space, small_budget) -> None:
    table = space.members
    counts = np.bincount(table.artists.item, minlength=len(table.artist_ids))
    popular = np.argsort(-counts)[:10]
    names = [str(table.artist_ids[table.artist_code[a]]) for a in popular]
    mainstream = TasteProfile(
        int(table.user_ids.max()) + 1, tuple(RankedArtist(a, r + 1) for r, a in enumerate(names))
    )
    profiles = [*_profiles(), mainstream]
    refit = TasteSpace.fit(profiles)
    scope = np.arange(refit.n_members)
    me = refit.index_of(mainstream.user_id)
    index = shared_items.scope_index(refit.vectors, scope)
    found = shared_items.best_candidates(index, np.array([me]), np.zeros(refit.n_members, dtype=bool))
    assert len(found.row) < 10  # nothing less common to share: the search alone finds too few
    searched = neighbours(refit.vectors, scope, 10)
    masks = Masks.of(Exclusions(), refit.n_members)
    _, exact, _ = rank_block(refit.vectors, masks, np.array([me]), np.array([me]), scope, 10)
    assert searched.others[me].tolist() == exact[0].tolist()



def test_with_nothing_less_common_every_member_is_scored_exactly_block_by_block(
    space, monkeypatch
) -> None:
    monkeypatch.setattr(shared_items, "PAIR_BUDGET", 0)
    monkeypatch.setattr(neighbours_module, "EXACT_LIMIT", 100)
    monkeypatch.setattr(neighbours_module, "BLOCK_CELLS", 50 * space.n_members)
    scope = np.arange(space.n_members)
    assert shared_items.scope_index(space.vectors, scope).less_common.nnz == 0
    searched = neighbours(space.vectors, scope, 10)
    masks = Masks.of(Exclusions(), space.n_members)
    _, exact, _ = rank_block(space.vectors, masks, scope, scope, scope, 10)
    assert searched.others.tolist() == exact.tolist()
