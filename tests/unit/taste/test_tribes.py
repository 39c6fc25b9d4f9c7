"""Taste tribes: k from the data, distinctive names, tiny communities, late joiners."""

from __future__ import annotations

import json

import numpy as np
import pytest

from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import RankedArtist, TasteProfile
from soundsync_core.taste.tribes import assign_to_tribe
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
