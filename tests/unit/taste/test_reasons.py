"""Reasons for a match: shared items with both ranks, audio extremes in natural units."""

from __future__ import annotations

import json

from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile


def _artists(*ids: str) -> tuple[RankedArtist, ...]:
    return tuple(RankedArtist(a, r, name=f"Name {a}", genres=("indie",)) for r, a in enumerate(ids, 1))


def _tracks(*specs: tuple[str, float, float]) -> tuple[RankedTrack, ...]:
    return tuple(
        RankedTrack(
            tid,
            r,
            name=f"Song {tid}",
            artist_ids=("a",),
            audio_features={"energy": energy, "loudness": loud, "danceability": 0.5},
        )
        for r, (tid, energy, loud) in enumerate(specs, 1)
    )


def _profiles() -> list[TasteProfile]:
    alice = TasteProfile(1, _artists("a", "b", "c", "rare"), _tracks(("t1", 0.9, -5.0), ("t2", 0.8, -6.0)))
    bob = TasteProfile(2, _artists("rare", "c", "x", "a"), _tracks(("t2", 0.85, -45.0), ("t9", 0.85, -45.0)))
    crowd = [TasteProfile(10 + i, _artists("a", f"z{i}"), _tracks((f"u{i}", 0.3, -20.0))) for i in range(8)]
    return [alice, bob, *crowd]


def _space() -> TasteSpace:
    return TasteSpace.fit(_profiles())


def test_shared_artists_carry_both_ranks_and_rare_ones_come_first() -> None:
    reasons = _space().reasons(0, 1)
    shared = {r["id"]: (r["rank_a"], r["rank_b"]) for r in reasons["shared_artists"]}
    assert shared == {"a": (1, 4), "c": (3, 2), "rare": (4, 1)}
    assert reasons["shared_artists"][0]["id"] == "rare"  # rare beats the ubiquitous favourite
    assert reasons["shared_artists"][-1]["id"] == "a"
    assert reasons["shared_artists"][0]["name"] == "Name rare"


def test_shared_tracks_and_genres() -> None:
    reasons = _space().reasons(0, 1)
    assert [(t["id"], t["rank_a"], t["rank_b"], t["name"]) for t in reasons["shared_tracks"]] == [
        ("t2", 2, 1, "Song t2")
    ]
    assert [g["id"] for g in reasons["shared_genres"]] == ["indie"]


def test_closest_and_farthest_audio_features_in_natural_units() -> None:
    audio = _space().reasons(0, 1)["audio"]
    assert audio["closest"]["feature"] == "danceability"
    assert audio["farthest"]["feature"] == "loudness"
    assert audio["farthest"]["b"] == -45.0
    assert -6.0 < audio["farthest"]["a"] < -5.0


def test_reasons_are_json_serialisable_and_symmetric_in_content() -> None:
    space = _space()
    forward, backward = space.reasons(0, 1), space.reasons(1, 0)
    json.dumps(forward)
    assert {r["id"] for r in forward["shared_artists"]} == {r["id"] for r in backward["shared_artists"]}


def test_no_audio_reason_unless_both_have_audio() -> None:
    plain = TasteProfile(3, _artists("a", "rare"))
    space = TasteSpace.fit([*_profiles(), plain])
    assert space.reasons(0, space.n_members - 1)["audio"] is None
