"""Hub correction (CSLS) and the calibrated compatibility %."""

from __future__ import annotations

import json

import numpy as np
import pytest

from soundsync_core.taste.calibration import Calibration
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.neighbours import neighbours
from soundsync_core.taste.profile import RankedArtist, TasteProfile
from tests.unit.taste.taste_synth import artist_id, community


@pytest.fixture(scope="module")
def with_hub() -> TasteSpace:
    profiles, _ = community(200, 20, seed=3, group_share=0.2)
    # The mainstream listener: the 25 most popular artists of the community, in order.
    popular = tuple(RankedArtist(artist_id(None, k), r) for r, k in enumerate(range(25), 1))
    return TasteSpace.fit([*profiles, TasteProfile(user_id=1, artists=popular)])


def test_hub_no_longer_tops_everyones_list(with_hub: TasteSpace) -> None:
    hub = with_hub.n_members - 1
    everyone = np.arange(with_hub.n_members)
    raw_first = neighbours(with_hub.vectors, everyone, 1).others[:, 0]
    corrected_first = with_hub.top_matches({0: everyone}, k=1).other_idx
    assert (raw_first == hub).sum() >= 10  # the fixture really has a hub
    assert (corrected_first == hub).sum() <= (raw_first == hub).sum() // 4
    assert with_hub.radii[hub] > np.quantile(with_hub.radii, 0.95)


def test_corrected_score_is_symmetric(with_hub: TasteSpace) -> None:
    for i, j in [(0, 5), (3, 200), (17, 101)]:
        assert with_hub.compatibility(i, j) == with_hub.compatibility(j, i)


def test_percent_is_monotone_and_bounded() -> None:
    rng = np.random.default_rng(0)
    calibration = Calibration.fit(rng.normal(size=5000), n_members=100)
    grid = np.linspace(-6, 6, 400)
    percent = calibration.percent(grid)
    assert np.all(np.diff(percent) >= 0)
    assert percent[0] == 0.0
    assert percent[-1] == 1.0
    assert calibration.percent(0.0) == pytest.approx(0.5, abs=0.03)


def test_ties_at_the_bottom_map_to_the_share_strictly_below() -> None:
    # 60 % of pairs share nothing (score 0); such a pair must not be shown as a 60 % match.
    scores = np.concatenate([np.zeros(600), np.linspace(0.01, 1.0, 400)])
    calibration = Calibration.fit(scores, n_members=50)
    assert calibration.percent(0.0) == 0.0
    assert calibration.percent(0.011) >= 0.6


def test_round_trip_through_json_is_stable() -> None:
    calibration = Calibration.fit(np.random.default_rng(1).gamma(2.0, size=3000), n_members=80)
    restored = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert restored == calibration
    grid = np.linspace(0, 10, 50)
    np.testing.assert_array_equal(restored.percent(grid), calibration.percent(grid))


def test_from_dict_rejects_unknown_versions() -> None:
    data = Calibration.fit(np.arange(10.0), n_members=5).to_dict() | {"version": 99}
    with pytest.raises(ValueError, match="version"):
        Calibration.from_dict(data)


def test_percent_of_a_known_pair_is_its_rank_among_all_pairs() -> None:
    profiles, _ = community(40, 4, seed=5)
    space = TasteSpace.fit(profiles)
    left, right = np.triu_indices(space.n_members, k=1)
    scores = space.ranking_scores(left, right)
    pair = int(np.argsort(scores)[int(0.9 * len(scores))])
    shown = space.compatibility(int(left[pair]), int(right[pair])).percent
    assert shown == pytest.approx(np.mean(scores < scores[pair]), abs=0.02)
