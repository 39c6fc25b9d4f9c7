"""The matching-quality benchmark: metrics, baselines, the seed's method, report, CLI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from soundsync_bench.baselines import (
    cosine,
    jaccard,
    random_order,
    seed_clusters,
    seed_method,
    seed_vectors,
)
from soundsync_bench.metrics import precision_recall_at_k, relevant_members
from soundsync_bench.quality import (
    LEGACY,
    PRODUCT,
    VARIANTS,
    default_methods,
    evaluate,
    format_markdown,
    run_quality,
)
from soundsync_bench.report import update_section, write_section
from soundsync_cli import bench_commands
from soundsync_core.settings import Settings
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile
from soundsync_synthetic import SyntheticCommunity, generate_community


def _profile(uid: int, artists: Sequence[str], tracks: Sequence[RankedTrack] = ()) -> TasteProfile:
    ranked = tuple(RankedArtist(id=a, rank=r) for r, a in enumerate(artists, start=1))
    return TasteProfile(user_id=uid, artists=ranked, tracks=tuple(tracks))


def _track(rank: int, energy: float) -> RankedTrack:
    features = {"acousticness": 0.1, "instrumentalness": 0.2, "danceability": 0.3,
                "energy": energy, "loudness": -6.0}  # fmt: skip
    return RankedTrack(id=f"t{rank}-{energy}", rank=rank, audio_features=features)


@pytest.fixture(scope="module")
def small() -> SyntheticCommunity:
    return generate_community(240, seed=11)


# --- metrics --------------------------------------------------------------------------------


def test_relevant_members_share_a_group_and_exclude_self() -> None:
    relevant = relevant_members({1: {0}, 2: {0}, 3: {1}, 4: {0, 1}, 5: {2}})
    assert relevant == {1: {2, 4}, 2: {1, 4}, 3: {4}, 4: {1, 2, 3}, 5: set()}


def test_precision_and_capped_recall_by_hand() -> None:
    relevant = {1: {2, 3, 4}, 2: {1}, 3: set()}
    recommended = {1: [2, 9, 3], 2: [7, 1, 1, 8], 3: [1]}
    score = precision_recall_at_k(recommended, relevant, k=2)
    # user 1: top-2 = [2, 9] → 1 hit: P = 1/2, R = 1/min(2, 3) = 1/2
    # user 2: top-2 = [7, 1] → 1 hit: P = 1/2, R = 1/min(2, 1) = 1
    # user 3: nobody relevant → not evaluated
    assert score.evaluated == 2
    assert score.precision == pytest.approx(0.5)
    assert score.recall == pytest.approx(0.75)


def test_short_lists_count_as_misses_and_repeats_count_once() -> None:
    relevant = {1: {2, 3, 4, 5}}
    assert precision_recall_at_k({1: [2]}, relevant, k=4).precision == pytest.approx(0.25)
    assert precision_recall_at_k({1: [2, 2, 2, 2]}, relevant, k=4).precision == pytest.approx(0.25)
    assert precision_recall_at_k({}, relevant, k=4).recall == 0.0


def test_perfect_oracle_scores_one(small: SyntheticCommunity) -> None:
    relevant = relevant_members(small.groups)
    assert min(len(r) for r in relevant.values()) >= 10  # so P@10 = 1 is reachable

    def oracle(profiles: Sequence[TasteProfile], k: int) -> dict[int, list[int]]:
        return {p.user_id: sorted(relevant[p.user_id])[:k] for p in profiles}

    score, _ = evaluate(oracle, small, k=10)
    assert score.precision == 1.0
    assert score.recall == 1.0


def test_random_order_is_at_chance_level(small: SyntheticCommunity) -> None:
    relevant = relevant_members(small.groups)
    chance = np.mean([len(r) / (small.n_members - 1) for r in relevant.values()])
    score, _ = evaluate(random_order, small, k=10)
    assert score.precision == pytest.approx(chance, abs=0.05)


# --- Jaccard and cosine ---------------------------------------------------------------------


@pytest.mark.parametrize("method", [jaccard, cosine])
def test_overlap_baselines_find_the_obvious_twin(method) -> None:
    profiles = [
        _profile(1, ["a", "b", "c", "d"]),
        _profile(2, ["x", "y", "z"]),
        _profile(3, ["a", "b", "c", "e"]),
        _profile(4, ["x", "q"]),
    ]
    recommended = method(profiles, 2)
    assert recommended[1][0] == 3
    assert recommended[3][0] == 1
    assert recommended[2][0] == 4
    assert all(uid not in others for uid, others in recommended.items())
    assert all(len(others) == 2 for others in recommended.values())


@pytest.mark.parametrize(
    ("method", "similarity"),
    [
        (jaccard, lambda a, b: len(a & b) / len(a | b)),
        (cosine, lambda a, b: len(a & b) / np.sqrt(len(a) * len(b))),
    ],
)
def test_overlap_baselines_rank_by_their_formula(method, similarity, small) -> None:
    profiles = small.profiles[:120]
    sets = {p.user_id: {a.id for a in p.artists} for p in profiles}
    recommended = method(profiles, 10)
    for uid, others in recommended.items():
        scores = [similarity(sets[uid], sets[o]) for o in others]
        best = max(similarity(sets[uid], sets[o]) for o in sets if o != uid)
        assert scores == pytest.approx(sorted(scores, reverse=True), abs=1e-8)
        assert scores[0] == pytest.approx(best)


# --- the seed's method ----------------------------------------------------------------------


def test_seed_vectors_keep_rank_order_and_mark_missing_slots() -> None:
    profile = _profile(1, ["a"], [_track(2, 0.9), _track(1, 0.4)])
    vector = seed_vectors([profile])[0].reshape(5, 5)
    assert vector[0, 3] == pytest.approx(0.4)  # rank 1 first, whatever the tuple order
    assert vector[1, 3] == pytest.approx(0.9)
    assert vector[0, 4] == pytest.approx(-6.0)  # loudness stays in dB
    assert np.isnan(vector[2:]).all()


def test_seed_vectors_depend_on_track_order() -> None:
    a = _profile(1, ["a"], [_track(1, 0.9), _track(2, 0.1)])
    b = _profile(2, ["a"], [_track(1, 0.1), _track(2, 0.9)])
    first, second = seed_vectors([a, b])
    assert not np.allclose(first[:10], second[:10])  # the flaw DESIGN §3 warns about


def test_seed_recommends_only_its_own_cluster_nearest_first(small: SyntheticCommunity) -> None:
    embedding, labels = seed_clusters(small.profiles)
    assert len(set(labels.tolist())) == 6
    row = {p.user_id: i for i, p in enumerate(small.profiles)}
    recommended = seed_method(small.profiles, 10)
    for uid, others in recommended.items():
        assert all(labels[row[o]] == labels[row[uid]] for o in others)
        distances = [np.linalg.norm(embedding[row[o]] - embedding[row[uid]]) for o in others]
        # Equal points (members without features) tie; ties may come in any order.
        assert all(a <= b + 1e-9 for a, b in pairwise(distances))


def test_seed_without_audio_features_is_one_cluster(small: SyntheticCommunity) -> None:
    restricted = small.restricted_app().profiles
    _, labels = seed_clusters(restricted)
    assert set(labels.tolist()) == {0}
    assert all(len(others) == 10 for others in seed_method(restricted, 10).values())


# --- harness, table, report, CLI ------------------------------------------------------------


def test_run_quality_reports_every_method_size_and_variant() -> None:
    methods = {"Jaccard": jaccard, "random": random_order}
    report = run_quality(sizes=(60, 80), seeds=2, methods=methods)
    keys = {(r.variant, r.members, r.method) for r in report.rows}
    assert keys == {(v, n, m) for v in VARIANTS for n in (60, 80) for m in methods}
    assert all(r.seeds == 2 and 0.0 <= r.precision <= 1.0 for r in report.rows)
    table = format_markdown(report)
    assert "| community | members | method | P@10 | R@10 | s/run |" in table
    assert table.count("| restricted app | 80 | random |") == 1


def test_missing_engine_is_a_note_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "soundsync_core.taste.engine", None)  # import fails
    report = run_quality(sizes=(40,), seeds=1, methods={PRODUCT: jaccard, "Jaccard": jaccard})
    assert {r.method for r in report.rows} == {"Jaccard"}
    assert any(PRODUCT in note for note in report.notes)
    assert "Note:" in format_markdown(report)


def test_update_section_inserts_then_replaces_only_its_own_section() -> None:
    other = "<!-- bench:recluster -->\nkeep me\n<!-- /bench:recluster -->\n"
    first = "<!-- bench:quality -->\nv1\n<!-- /bench:quality -->\n"
    text = update_section("# Benchmarks\n\n" + other, "quality", first)
    assert other in text
    assert "v1" in text
    second = "<!-- bench:quality -->\nv2 \\1\n<!-- /bench:quality -->\n"  # no regex escapes
    again = update_section(text, "quality", second)
    assert "v1" not in again
    assert "v2 \\1" in again
    assert other in again
    assert again.count("<!-- bench:quality -->") == 1


def test_write_section_adds_machine_and_date(tmp_path: Path) -> None:
    target = tmp_path / "BENCHMARKS.md"
    when = datetime(2026, 1, 2, tzinfo=UTC)
    write_section(target, "quality", "Quality", "| a |\n", when=when)
    write_section(target, "quality", "Quality", "| b |\n", when=when)
    text = target.read_text(encoding="utf-8")
    assert "2026-01-02" in text
    assert "CPUs" in text
    assert "| b |" in text
    assert "| a |" not in text


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_commands.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_parses_sizes_and_rejects_nonsense() -> None:
    args = _parse(["bench", "quality", "--sizes", "300,1000", "--seeds", "2"])
    assert args.sizes == (300, 1000)
    assert args.seeds == 2
    assert args.write is None
    for bad in (["--sizes", "x"], ["--sizes", "1"], ["--seeds", "0"]):
        with pytest.raises(SystemExit):
            _parse(["bench", "quality", *bad])


def test_cli_writes_the_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        bench_commands,
        "run_quality",
        lambda sizes, seeds, **kw: run_quality(sizes, seeds, methods={"Jaccard": jaccard}, **kw),
    )
    target = tmp_path / "BENCHMARKS.md"
    args = _parse(["bench", "quality", "--sizes", "50", "--seeds", "1", "--write", str(target)])
    assert args.handler(args, Settings()) == 0
    printed = capsys.readouterr().out
    assert "| full | 50 | Jaccard |" in printed
    assert "| full | 50 | Jaccard |" in target.read_text(encoding="utf-8")
    assert "<!-- /bench:quality -->" in target.read_text(encoding="utf-8")


def test_the_previous_engine_is_a_row_beside_the_new_one(small: SyntheticCommunity) -> None:
    methods = default_methods()
    assert list(methods)[:2] == [PRODUCT, LEGACY]
    score, _ = evaluate(methods[LEGACY], small)
    assert score.precision > evaluate(random_order, small)[0].precision
