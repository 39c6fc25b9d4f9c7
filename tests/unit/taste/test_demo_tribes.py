"""Tribes keep planted tastes apart (issue #11: tribes worth naming)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.tribes import split_mixed_tribes
from soundsync_synthetic import generate_community

DEMO_MEMBERS, DEMO_SEED = 600, 7  # what `soundsync demo` generates by default
# Members whose main taste carries at least this share are the clear cases of their group.
CLEAR_SHARE = 0.8


def test_every_planted_group_of_the_demo_has_a_tribe_of_its_own() -> None:
    community = generate_community(DEMO_MEMBERS, seed=DEMO_SEED)
    space = TasteSpace.fit(community.profiles)
    labels = space.tribes().labels
    rows = np.arange(community.n_members)
    main = np.argmax(community.tastes.weights, axis=1)
    group = community.tastes.groups[rows, main]
    clear = community.tastes.weights[rows, main] >= CLEAR_SHARE
    tribe_of_group = {}
    for g in np.unique(group[clear]):
        members = [space.index_of(community.user_ids[m]) for m in np.flatnonzero(clear & (group == g))]
        tribe_of_group[int(g)] = Counter(int(labels[i]) for i in members).most_common(1)[0][0]
    assert len(tribe_of_group) >= 10
    assert len(set(tribe_of_group.values())) == len(tribe_of_group), tribe_of_group


def test_a_tribe_of_two_distinct_tastes_is_split_and_a_uniform_one_is_not() -> None:
    rng = np.random.default_rng(0)
    jazz = rng.normal([1, 0, 0, 0], 0.05, size=(20, 4))
    reggae = rng.normal([0, 1, 0, 0], 0.05, size=(20, 4))
    metal = rng.normal([0, 0, 1, 0], 0.05, size=(20, 4))
    embedding = np.vstack([jazz, reggae, metal])
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    merged = np.array([0] * 40 + [1] * 20)  # jazz and reggae given one tribe
    labels, centres = split_mixed_tribes(embedding, merged, silhouette=0.5)
    assert len(set(labels[:20])) == 1
    assert len(set(labels[20:40])) == 1
    assert labels[0] != labels[20]
    assert len(set(labels[40:])) == 1
    assert centres.shape == (3, 4)
