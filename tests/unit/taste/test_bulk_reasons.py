"""Bulk reasons: the packed stored form expands to exactly what pair_reasons says, from both sides."""

from __future__ import annotations

import numpy as np
import pytest

from soundsync_core.taste.bulk_reasons import (
    PACKED,
    STORED_SHARED,
    VIEW_NUMBER,
    expand_packed,
    expand_reasons,
    is_compact,
    pack_reasons,
    packed_columns,
    unpack,
)
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import AUDIO_FEATURES
from soundsync_core.taste.reasons import pair_reasons
from soundsync_synthetic import generate_community


def _without_contributions(reasons: dict) -> dict:
    for key in ("shared_artists", "shared_tracks", "shared_genres"):
        reasons[key] = [{k: v for k, v in item.items() if k != "contribution"} for item in reasons[key]]
    return reasons


def _reasons(space: TasteSpace, i: int, j: int) -> dict:
    return _without_contributions(pair_reasons(space.vectors, i, j, space.names, limit=STORED_SHARED))


def _items(space: TasteSpace) -> dict[tuple[int, int], tuple[str, str]]:
    """What the run's item table and the catalogue give a reader."""
    out = {}
    for view, number in VIEW_NUMBER.items():
        names = space.names.get(view, {})
        for col, item in enumerate(space.vectors.items[view].ids.tolist()):
            out[(number, col)] = (item, names.get(item, item))
    return out


@pytest.fixture(scope="module")
def space() -> TasteSpace:
    return TasteSpace.fit(generate_community(300, seed=5).profiles, seed=5)


def test_packed_reasons_equal_per_pair_reasons_from_both_sides(space: TasteSpace) -> None:
    table = space.top_matches({0: range(space.n_members)}, 10)
    rng = np.random.default_rng(0)
    left = np.concatenate([table.user_idx, rng.integers(0, space.n_members, 500)])
    right = np.concatenate([table.other_idx, rng.integers(0, space.n_members, 500)])
    packed = pack_reasons(space.vectors, left, right)
    assert packed.dtype == PACKED
    assert len(packed) == len(left)
    items = _items(space)
    with_audio = 0
    for i, j, record in zip(left.tolist(), right.tolist(), packed, strict=True):
        [stored] = unpack([record.tobytes()])  # what a reader gets back from the bytea column
        assert set(packed_columns(stored)) <= set(items)
        assert expand_packed(stored, items, AUDIO_FEATURES) == _reasons(space, i, j)
        assert expand_packed(stored, items, AUDIO_FEATURES, reader_is_b=True) == _reasons(space, j, i)
        with_audio += stored["x_feature"][0] >= 0
    assert with_audio > 100


def test_a_page_of_records_reads_as_each_record_alone(space: TasteSpace) -> None:
    table = space.top_matches({0: range(space.n_members)}, 3)
    packed = pack_reasons(space.vectors, table.user_idx[:40], table.other_idx[:40])
    page = unpack([record.tobytes() for record in packed])
    assert page == [unpack([record.tobytes()])[0] for record in packed]
    assert [r["t_col"] for r in page] == packed["t_col"].tolist()
    assert unpack([]) == []
    with pytest.raises(ValueError, match="165 bytes, not 164"):
        unpack([packed[0].tobytes(), packed[1].tobytes()[:-1]])


def test_pair_order_does_not_change_any_pair_s_record(space: TasteSpace) -> None:
    # The compiled pass reuses the first member's scattered row while consecutive pairs share it.
    table = space.top_matches({0: range(space.n_members)}, 5)
    whole = pack_reasons(space.vectors, table.user_idx, table.other_idx)
    shuffled = np.random.default_rng(1).permutation(len(whole))
    again = pack_reasons(space.vectors, table.user_idx[shuffled], table.other_idx[shuffled])
    assert again.tobytes() == whole[shuffled].tobytes()


def test_version_2_json_reasons_of_older_runs_are_still_read() -> None:
    stored = {"v": 2, "a": [["x", 3, 1]], "t": [], "g": [], "x": [0, 1, 0.25, 0.5, 0.75, 0.125]}
    assert is_compact(stored)
    expanded = expand_reasons(stored, {"artists": {"x": "X"}}, AUDIO_FEATURES)
    assert expanded["shared_artists"] == [{"id": "x", "name": "X", "rank_a": 3, "rank_b": 1}]
    assert expanded["audio"]["closest"] == {"feature": AUDIO_FEATURES[0], "a": 0.25, "b": 0.5}


def test_reasons_stored_in_the_full_shape_are_left_alone() -> None:
    assert not is_compact({"shared_artists": [], "shared_tracks": [], "shared_genres": [], "audio": None})


def test_swapping_sides_gives_the_record_computed_from_the_other_side(space: TasteSpace) -> None:
    from soundsync_core.taste.bulk_reasons import swap_sides

    table = space.top_matches({0: range(space.n_members)}, 10)
    left, right = table.user_idx, table.other_idx
    swapped = pack_reasons(space.vectors, right, left)
    where = np.arange(len(left)) % 3 > 0
    swap_sides(swapped, where)
    straight = pack_reasons(space.vectors, left, right)
    assert swapped[where].tobytes() == straight[where].tobytes()
    assert (swapped["x_feature"][:, 0] >= 0).sum() > 100  # audio reasons are swapped too
