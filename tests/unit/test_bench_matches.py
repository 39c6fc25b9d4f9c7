"""The figures of ``soundsync bench matches``: percentiles, rounds, verdict, markdown (no timing)."""

from __future__ import annotations

import math

from soundsync_bench.matches_latency import (
    TARGET_P99_MS,
    Asker,
    MatchesBenchReport,
    Percentiles,
    Sample,
    format_markdown,
    rounds_of,
)


def _report(samples: list[Sample], bot_errors: int = 0) -> MatchesBenchReport:
    return MatchesBenchReport(members=1000, match_rows=20_000, concurrency=2, rounds=2, pool_size=10,
                              samples=samples, bot_errors=bot_errors)


def test_percentiles_interpolate_between_ranks_and_max_is_the_largest() -> None:
    stats = Percentiles.of([float(v) for v in range(1, 101)])
    assert stats.p50 == 50.5
    assert math.isclose(stats.p95, 95.05)
    assert math.isclose(stats.p99, 99.01)
    assert stats.max == 100.0


def test_percentiles_of_nothing_are_not_a_number() -> None:
    assert math.isnan(Percentiles.of([]).p99)


def test_rounds_hold_different_members_and_wrap_only_across_rounds() -> None:
    askers = [Asker(i, 7, f"m{i}") for i in range(5)]
    batches = rounds_of(askers, 3, 3)
    assert [[a.user_id for a in batch] for batch in batches] == [[0, 1, 2], [3, 4, 0], [1, 2, 3]]


def test_failed_interactions_and_bot_errors_both_count_and_fail_the_run() -> None:
    fine = [Sample(10.0, 20.0)] * 3
    assert _report(fine).errors == 0
    assert _report(fine).passed
    broken = _report([*fine, Sample(12.0, None, "no followup")], bot_errors=2)
    assert broken.errors == 3
    assert not broken.passed


def test_a_slow_first_callback_alone_fails_the_run() -> None:
    report = _report([Sample(TARGET_P99_MS + 50, 20.0)] * 4)
    assert report.errors == 0
    assert not report.passed


def test_latencies_are_taken_only_from_what_was_measured() -> None:
    report = _report([Sample(10.0, 30.0), Sample(20.0, None, "no followup"), Sample(None, None, "none")])
    assert report.first_callback.max == 20.0
    assert report.matches_message.max == 30.0


def test_markdown_has_both_latencies_with_sample_counts_and_the_verdict() -> None:
    report = _report([Sample(10.0, 30.0), Sample(20.0, None, "no followup")])
    report.alone = [Sample(4.0, 9.0)]
    report.bot_cpu_ms = 3.25
    text = format_markdown(report)
    rows = [line for line in text.splitlines() if line.startswith("| (")]
    assert rows[0].startswith("| (a) first interaction callback (deferred), 2 at once | 2 | 15.0 ms |")
    assert rows[1].startswith("| (b) the message with the matches (followup), 2 at once | 1 | 30.0 ms |")
    assert rows[2].startswith("| (a) first interaction callback, one at a time | 1 | 4.0 ms |")
    assert rows[3].startswith("| (b) the message with the matches, one at a time | 1 | 9.0 ms |")
    assert "**FAIL**" in text
    assert "errors: 1." in text
    assert "20,000 stored match rows" in text
    assert "3.2 ms of CPU per `/matches`" in text
