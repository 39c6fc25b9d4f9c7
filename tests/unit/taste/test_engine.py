"""The facade: index lookup, pair scores, late joiners scored like the run's matches."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.late_joiners import score_late_joiner
from tests.unit.taste.taste_synth import community


@pytest.fixture(scope="module")
def run():
    profiles, labels = community(150, 5, seed=13, tracks=True)
    return profiles, labels, TasteSpace.fit(profiles)


def test_index_of_and_pair_score_ranges(run) -> None:
    profiles, _, space = run
    i, j = space.index_of(profiles[3].user_id), space.index_of(profiles[8].user_id)
    assert (i, j) == (3, 8)
    score = space.compatibility(i, j)
    assert 0.0 <= score.percent <= 1.0
    assert score.percent == pytest.approx(min(1.0, max(0.0, score.raw / space.twins[i])), abs=1e-6)
    with pytest.raises(KeyError):
        space.index_of(-1)


def test_late_joiner_finds_their_twin_at_100_percent(run) -> None:
    profiles, labels, _ = run
    twin = profiles[7]
    joiner = dataclasses.replace(twin, user_id=99_999)
    matches = score_late_joiner(joiner, profiles, k=10)
    assert matches[0].user_id == twin.user_id
    assert matches[0].percent > 0.99
    assert [m.rank for m in matches] == list(range(1, 11))
    assert all(a.raw >= b.raw for a, b in itertools.pairwise(matches))
    assert all(a.percent >= b.percent for a, b in itertools.pairwise(matches))
    group = {p.user_id: g for p, g in zip(profiles, labels, strict=True)}
    assert np.mean([group[m.user_id] == labels[7] for m in matches]) >= 0.9
    assert matches[0].reasons["shared_artists"]


def test_late_joiner_scores_match_a_full_refit(run) -> None:
    profiles, _, _ = run
    joiner = dataclasses.replace(profiles[20], user_id=88_888, artists=profiles[20].artists[:10])
    live = score_late_joiner(joiner, profiles, k=5)
    refit = TasteSpace.fit([*profiles, joiner])
    me = refit.n_members - 1
    for match in live:
        pair = refit.compatibility(me, refit.index_of(match.user_id))
        assert match.raw == pytest.approx(pair.raw, abs=1e-5)
        assert match.percent == pytest.approx(pair.percent, abs=1e-5)


def test_late_joiner_never_sees_excluded_members_or_themself(run) -> None:
    profiles, _, _ = run
    twin = profiles[7]
    banned = {twin.user_id, profiles[12].user_id}
    matches = score_late_joiner(twin, profiles, k=20, exclude_user_ids=banned)
    shown = {m.user_id for m in matches}
    assert not shown & banned
    assert len(matches) == 20


def test_matches_come_in_scope_member_rank_order_whatever_the_scopes_order(run) -> None:
    # A run stores rows in this order and relies on the engine for it (no sort of every row).
    _, _, space = run
    scopes = {9: np.arange(40, 150), 2: np.arange(0, 90), 5: np.arange(20, 60)}
    table = space.top_matches(scopes, 5)
    assert np.array_equal(np.unique(table.scope_id), [2, 5, 9])
    order = np.lexsort((table.rank, table.user_idx, table.scope_id))
    assert np.array_equal(order, np.arange(len(order)))
