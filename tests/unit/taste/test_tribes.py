"""Taste tribes: k from the data, distinctive names, tiny communities, late joiners."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from soundsync_cli.sandbox import GROUPS, SANDBOX_MEMBERS
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import RankedArtist, TasteProfile
from soundsync_core.taste.similarity import build_vectors
from soundsync_core.taste.tribes import assign_to_tribe, describe_tribes
from tests.unit.taste.taste_synth import artist_id, community


@pytest.fixture(scope="module")
def planted():
    profiles, labels = community(240, 4, seed=11, group_share=0.8, genres=True)
    space = TasteSpace.fit(profiles)
    return space, labels, space.tribes()


def test_k_is_recovered_on_clear_planted_groups(planted) -> None:
    _, labels, result = planted
    assert result.k == 4
    for tribe in result.tribes:
        members = labels[result.labels == tribe.id]
        assert np.bincount(members).max() / len(members) > 0.95


def test_tribes_are_named_by_their_distinctive_artists_and_genres(planted) -> None:
    _, labels, result = planted
    for tribe in result.tribes:
        group = np.bincount(labels[result.labels == tribe.id]).argmax()
        assert tribe.top_genres[0]["name"] == f"genre{group}"
        assert tribe.top_artists[0]["id"].startswith(f"g{group}a")
        assert not any(a["id"].startswith("pop") for a in tribe.top_artists)
        assert tribe.name.startswith(f"genre{group} · Artist g{group}a")
        assert tribe.top_artists[0]["lift"] > 1.0


def test_tribes_are_json_ready_with_centres_and_map(planted) -> None:
    space, _, result = planted
    payload = json.dumps([t.to_dict() for t in result.tribes])
    assert "artist_profile" in payload
    assert sum(t.size for t in result.tribes) == space.n_members
    assert result.coordinates.shape == (space.n_members, 2)
    assert len(result.tribes[0].centre) == space.embedding.shape[1]


def test_tribes_are_deterministic_given_the_seed(planted) -> None:
    space, _, result = planted
    again = TasteSpace.fit(space.members).tribes()
    np.testing.assert_array_equal(again.labels, result.labels)


def test_late_joiner_is_assigned_to_the_tribe_of_their_artists(planted) -> None:
    _, labels, result = planted
    target = result.labels[np.flatnonzero(labels == 2)[0]]
    joiner = TasteProfile(user_id=9, artists=tuple(RankedArtist(artist_id(2, k), k + 1) for k in range(6)))
    assert assign_to_tribe(joiner, result.tribes) == target
    stranger = TasteProfile(user_id=10, artists=(RankedArtist("unknown", 1),))
    assert assign_to_tribe(stranger, result.tribes) is None


@pytest.mark.parametrize("n", [1, 2, 5])
def test_tiny_communities_form_one_tribe(n: int) -> None:
    profiles, _ = community(n, 2, seed=1)
    result = TasteSpace.fit(profiles).tribes()
    assert result.k == 1
    assert result.tribes[0].size == n
    assert result.labels.tolist() == [0] * n


def test_explicit_k_is_honoured(planted) -> None:
    space, _, _ = planted
    assert space.tribes(k=2).k == 2


def test_tribes_with_the_same_taste_get_different_names() -> None:
    # Members 0–39 and their exact copies 40–79 are two tribes with identical statistics.
    profiles, _ = community(40, 1, seed=2, genres=True)
    others, _ = community(40, 2, seed=3, genres=True)
    copies = [dataclasses.replace(p, user_id=p.user_id + 1000) for p in profiles]
    space = TasteSpace.fit([*profiles, *copies, *others[20:]])
    labels = np.repeat([0, 1, 2], [40, 40, 20])
    items = space.vectors.items
    tribes = describe_tribes(labels, np.zeros((3, 2)), items["artists"], items["genres"], {})
    names = [t.name for t in tribes]
    assert tribes[0].top_artists == tribes[1].top_artists
    assert len(set(names)) == 3


def test_listed_genres_are_more_frequent_in_the_tribe_than_around_it() -> None:
    profiles, _ = community(120, 2, seed=2, group_share=0.9, genres=True)
    space = TasteSpace.fit(profiles)
    result = space.tribes(k=6)
    assert any(t.top_genres for t in result.tribes)
    genres = space.vectors.items["genres"]
    has = (genres.matrix.toarray() > 0)
    for tribe in result.tribes:
        inside = has[result.labels == tribe.id]
        for genre in tribe.top_genres:
            column = genres.column_of()[genre["id"]]
            assert inside[:, column].mean() > has[:, column].mean()


@pytest.mark.parametrize("with_bob", [False, True])
def test_the_sandbox_jazz_and_metal_listeners_make_two_tribes(with_bob: bool) -> None:
    members = list(SANDBOX_MEMBERS) + ([("bob", "jazz")] if with_bob else [])  # bob links in the tour
    profiles = [
        TasteProfile(i, tuple(RankedArtist(a.lower(), r, a, genres=(group,)) for r, a in
                              enumerate(GROUPS[group][i % 6:] + GROUPS[group][: i % 6], 1)))
        for i, (_, group) in enumerate(members)
    ]
    result = TasteSpace.fit(profiles).tribes()
    assert result.k == 2
    tribe_of = {group: {int(result.labels[i]) for i, (_, g) in enumerate(members) if g == group}
                for group in GROUPS}
    assert all(len(tribes) == 1 for tribes in tribe_of.values())
    assert tribe_of["jazz"] != tribe_of["metal"]


def test_components_fitted_on_a_sample_span_the_main_tastes(monkeypatch) -> None:
    from soundsync_core.taste import embedding

    profiles, _ = community(480, 4, seed=11, group_share=0.8, genres=True)
    vectors = TasteSpace.fit(profiles).vectors
    full = embedding.svd_projection(vectors).astype(np.float64)
    monkeypatch.setattr(embedding, "SVD_SAMPLE", 120)
    sampled = embedding.svd_projection(vectors).astype(np.float64)
    assert sampled.shape == full.shape
    # The four planted tastes are the full fit's first four directions; a sample's components
    # must span them (24 random directions keep about 85 % of their energy here).
    basis, _ = np.linalg.qr(sampled)
    main = full[:, :4]
    assert np.linalg.norm(basis @ (basis.T @ main)) ** 2 / np.linalg.norm(main) ** 2 > 0.99


@pytest.mark.filterwarnings("error")
def test_members_who_all_list_the_same_project_without_a_warning() -> None:
    from soundsync_core.taste import embedding

    same = [TasteProfile(uid, (RankedArtist("a", 1), RankedArtist("b", 2))) for uid in (1, 2, 3)]
    projection = embedding.svd_projection(build_vectors(same))
    assert np.allclose(projection, projection[0])
    assert np.abs(projection[0]).sum() > 0
