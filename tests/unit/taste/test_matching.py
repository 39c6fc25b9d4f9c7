"""Top-K matches: exact and candidate paths agree; exclusions and self are honoured."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from soundsync_core.taste import neighbours as neighbours_module
from soundsync_core.taste.engine import MatchTable, TasteSpace, recommend
from soundsync_core.taste.neighbours import Exclusions
from tests.unit.taste.taste_synth import community


@pytest.fixture(scope="module")
def space() -> TasteSpace:
    profiles, _ = community(1500, 15, seed=7, group_share=0.5, tracks=True)
    return TasteSpace.fit(profiles)


def _lists(table: MatchTable) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for user, other in zip(table.user_idx, table.other_idx, strict=True):
        out.setdefault(int(user), []).append(int(other))
    return out


def test_candidate_path_recalls_the_exact_top_10(space, monkeypatch) -> None:
    everyone = {0: range(space.n_members)}
    exact = _lists(space.top_matches(everyone, k=10))
    monkeypatch.setattr(neighbours_module, "EXACT_LIMIT", 100)
    approx = _lists(space.top_matches(everyone, k=10))
    hits = sum(len(set(exact[u]) & set(approx.get(u, []))) for u in exact)
    assert hits / sum(len(v) for v in exact.values()) >= 0.95


def test_rows_are_ranked_by_score_with_the_readers_percent(space) -> None:
    table = space.top_matches({0: range(200)}, k=5)
    assert len(table) == 200 * 5
    first = table.user_idx == table.user_idx[0]
    assert np.all(np.diff(table.raw[first]) <= 0)
    assert np.all(np.diff(table.percent[first]) <= 0)
    assert table.rank[first].tolist() == [1, 2, 3, 4, 5]
    pair = space.compatibility(int(table.user_idx[0]), int(table.other_idx[0]))
    assert pair.raw == pytest.approx(float(table.raw[0]), abs=1e-5)
    assert pair.percent == pytest.approx(float(table.percent[0]), abs=1e-5)


@pytest.mark.parametrize("exact_limit", [5000, 100])
def test_self_hidden_and_excluded_pairs_never_appear(space, monkeypatch, exact_limit) -> None:
    monkeypatch.setattr(neighbours_module, "EXACT_LIMIT", exact_limit)
    hidden = {3, 4, 5}
    blocked = {(0, 15), (30, 1)}
    exclude = Exclusions.of(hidden=hidden, pairs=blocked)
    table = space.top_matches({0: range(space.n_members)}, k=20, exclude=exclude)
    assert not np.any(table.user_idx == table.other_idx)
    assert not np.isin(table.other_idx, list(hidden)).any()
    pairs = set(zip(table.user_idx.tolist(), table.other_idx.tolist(), strict=True))
    for a, b in blocked:
        assert (a, b) not in pairs
        assert (b, a) not in pairs
    assert set(table.user_idx.tolist()) >= hidden  # hidden members still get their own list


def test_scopes_stay_within_their_members_and_report_progress(space) -> None:
    seen: list[tuple[int, int]] = []
    scopes = {7: [0, 1, 2, 3, 4, 5], 8: list(range(100, 160))}
    table = space.top_matches(scopes, k=3, progress=lambda done, total: seen.append((done, total)))
    for scope_id, members in scopes.items():
        mine = table.scope_id == scope_id
        assert set(table.user_idx[mine].tolist()) == set(members)
        assert set(table.other_idx[mine].tolist()) <= set(members)
    assert seen[-1] == (66, 66)


def test_small_scope_returns_fewer_than_k() -> None:
    profiles, _ = community(3, 1, seed=1)
    table = TasteSpace.fit(profiles).top_matches({0: [0, 1, 2]}, k=10)
    assert len(table) == 6


def test_recommend_maps_user_ids_to_best_matches() -> None:
    profiles, labels = community(120, 4, seed=9)
    recs = recommend(profiles, 10)
    assert set(recs) == {p.user_id for p in profiles}
    group_of = {p.user_id: g for p, g in zip(profiles, labels, strict=True)}
    same = [group_of[u] == group_of[o] for u, others in recs.items() for o in others]
    assert all(len(v) == 10 for v in recs.values())
    assert np.mean(same) > 0.9


@pytest.mark.parametrize("exact_limit", [5000, 50])
def test_equal_scores_are_ranked_by_user_id(monkeypatch, exact_limit) -> None:
    profiles, _ = community(300, 5, seed=3, group_share=0.5, tracks=True)
    # Six identical copies of one member: every other member scores them equally.
    last = max(p.user_id for p in profiles)
    clones = [dataclasses.replace(profiles[0], user_id=last + 1 + i) for i in range(6)]
    space = TasteSpace.fit(sorted([*profiles, *clones], key=lambda p: p.user_id))
    monkeypatch.setattr(neighbours_module, "EXACT_LIMIT", exact_limit)
    clone_rows = {space.index_of(p.user_id) for p in clones} | {space.index_of(profiles[0].user_id)}
    table = space.top_matches({0: range(space.n_members)}, k=20)
    checked = 0
    for user, others in _lists(table).items():
        listed = [o for o in others if o in clone_rows]
        if user not in clone_rows and len(listed) > 1:
            assert listed == sorted(listed)
            positions = [others.index(o) for o in listed]
            assert positions == list(range(positions[0], positions[0] + len(listed)))
            checked += 1
    assert checked > 10
