"""The BENCHMARKS.md body of ``soundsync bench recluster``: stages in order and an honest verdict."""

from __future__ import annotations

from soundsync_bench.recluster import ReclusterBenchReport, format_markdown
from soundsync_core.services.recluster import ReclusterSummary


def _report(seconds: float) -> ReclusterBenchReport:
    stages = {"load": 1.0, "compute": 2.0, "write": 3.0}
    summary = ReclusterSummary(7, 1000, 4, ["a"], seconds, 3, 20_000, stages)
    return ReclusterBenchReport(1000, 1, 500, 0.5, 2.5, summary, stages)


def test_stages_keep_their_order_and_the_total_closes_the_table() -> None:
    lines = format_markdown(_report(6.0)).splitlines()
    rows = [line for line in lines if line.startswith("| ") and "stage" not in line]
    assert rows == ["| load | 1.0 |", "| compute | 2.0 |", "| write | 3.0 |",
                    "| **recluster total** | **6.0** |"]


def test_verdict_says_whether_about_a_minute_was_met() -> None:
    assert "(met)" in format_markdown(_report(64.0))
    assert "not met: 6.0× the target" in format_markdown(_report(360.0))


def test_no_recluster_no_table() -> None:
    assert format_markdown(ReclusterBenchReport(10, 1)) == "No recluster ran.\n"
