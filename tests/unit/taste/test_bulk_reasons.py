"""Bulk reasons: the compact stored form expands to exactly what pair_reasons says, pair by pair."""

from __future__ import annotations

import json

import numpy as np
import pytest

from soundsync_core.repositories.runs import MatchRows, match_copy_chunks
from soundsync_core.synthetic import generate_community
from soundsync_core.taste import bulk_reasons
from soundsync_core.taste.bulk_reasons import STORED_SHARED, compact_reasons, expand_reasons, is_compact
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import AUDIO_FEATURES, RankedArtist, TasteProfile
from soundsync_core.taste.reasons import pair_reasons


def _without_contributions(reasons: dict) -> dict:
    for key in ("shared_artists", "shared_tracks", "shared_genres"):
        reasons[key] = [{k: v for k, v in item.items() if k != "contribution"} for item in reasons[key]]
    return reasons


@pytest.fixture(scope="module")
def space() -> TasteSpace:
    return TasteSpace.fit(generate_community(300, seed=5).profiles, seed=5)


def _reasons(space: TasteSpace, i: int, j: int) -> dict:
    return _without_contributions(pair_reasons(space.vectors, i, j, space.names, limit=STORED_SHARED))


def test_bulk_reasons_equal_per_pair_reasons_from_both_sides(space: TasteSpace) -> None:
    table = space.top_matches({0: range(space.n_members)}, 10)
    rng = np.random.default_rng(0)
    left = np.concatenate([table.user_idx, rng.integers(0, space.n_members, 500)])
    right = np.concatenate([table.other_idx, rng.integers(0, space.n_members, 500)])
    texts = compact_reasons(space.vectors, left, right)
    assert len(texts) == len(left)
    with_audio = 0
    for i, j, text in zip(left.tolist(), right.tolist(), texts, strict=True):
        stored = json.loads(text)
        assert is_compact(stored)
        assert expand_reasons(stored, space.names, AUDIO_FEATURES) == _reasons(space, i, j)
        assert expand_reasons(stored, space.names, AUDIO_FEATURES, reader_is_b=True) == _reasons(space, j, i)
        with_audio += stored["x"] is not None
    assert with_audio > 100


def test_version_2_reasons_of_older_runs_are_still_read() -> None:
    stored = {"v": 2, "a": [["x", 3, 1]], "t": [], "g": [], "x": [0, 1, 0.25, 0.5, 0.75, 0.125]}
    expanded = expand_reasons(stored, {"artists": {"x": "X"}}, AUDIO_FEATURES, reader_is_b=True)
    assert expanded["shared_artists"] == [{"id": "x", "name": "X", "rank_a": 3, "rank_b": 1}]
    assert expanded["audio"]["closest"] == {"feature": AUDIO_FEATURES[0], "a": 0.25, "b": 0.5}


def test_chunking_does_not_change_the_result(space: TasteSpace, monkeypatch: pytest.MonkeyPatch) -> None:
    table = space.top_matches({0: range(space.n_members)}, 5)
    whole = compact_reasons(space.vectors, table.user_idx, table.other_idx)
    monkeypatch.setattr(bulk_reasons, "PAIRS_PER_CHUNK", 7)
    assert compact_reasons(space.vectors, table.user_idx, table.other_idx) == whole


def test_odd_item_ids_survive_json_and_the_copy_text_format() -> None:
    odd = 'quote " back\\slash\ttab'
    people = [TasteProfile(u, (RankedArtist(odd, 1, name="Odd"), RankedArtist(f"x{u}", 2)))
              for u in (1, 2, 3)]
    space = TasteSpace.fit(people)
    text = compact_reasons(space.vectors, np.array([0]), np.array([1]))[0]
    assert json.loads(text)["a"] == [[odd, 1, 1]]
    rows = MatchRows(np.array([0]), np.array([1]), np.array([1]), np.array([2]),
                     np.array([0.5], dtype=np.float32), lambda start, end: [text][start:end])
    line = b"".join(match_copy_chunks(9, rows)).decode()
    fields = line.rstrip("\n").split("\t")
    assert fields[:6] == ["9", "0", "1", "1", "2", "0.5"]
    # COPY text format: a backslash is written twice and read back as one.
    assert json.loads(fields[6].replace("\\\\", "\\")) == json.loads(text)


def test_reasons_stored_in_the_full_shape_are_left_alone() -> None:
    assert not is_compact({"shared_artists": [], "shared_tracks": [], "shared_genres": [], "audio": None})
