"""Prometheus text exposition (format 0.0.4), hand-written: four metric families are not
worth a dependency, and the numbers stay per process like any Prometheus client's."""

from __future__ import annotations

import bisect
from collections import Counter

from soundsync_core.repositories import accounts
from soundsync_core.services import linking
from soundsync_core.services.linking import LinkResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Histogram:
    """Cumulative-bucket histogram of seconds, one series per label value."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self._counts: dict[str, list[int]] = {}
        self._sums: Counter[str] = Counter()

    def observe(self, label: str, seconds: float) -> None:
        """Record one observation."""
        counts = self._counts.setdefault(label, [0] * (len(self.buckets) + 1))
        counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self._sums[label] += seconds

    def lines(self, name: str, label_name: str) -> list[str]:
        """``_bucket`` / ``_sum`` / ``_count`` lines."""
        out = []
        for label, counts in sorted(self._counts.items()):
            running = 0
            bounds = [*(f"{b:g}" for b in self.buckets), "+Inf"]
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                out.append(f"{name}_bucket{_labels(**{label_name: label}, le=bound)} {running}")
            out.append(f"{name}_sum{_labels(**{label_name: label})} {self._sums[label]:.6f}")
            out.append(f"{name}_count{_labels(**{label_name: label})} {running}")
        return out


class Metrics:
    """The web app's counters: links, ingests, Spotify errors, request latency."""

    def __init__(self) -> None:
        self.links: Counter[str] = Counter()
        self.ingests: Counter[str] = Counter()
        self.spotify_errors: Counter[str] = Counter()
        self.latency = Histogram()

    def record_link(self, result: LinkResult) -> None:
        """Count one callback's outcome (and the ingest and Spotify errors it involved)."""
        self.links[result.outcome] += 1
        ingest = {linking.LINKED: "ingested", linking.PENDING: "deferred",
                  accounts.NOT_ALLOWLISTED: "refused"}.get(result.outcome)
        if ingest is not None:
            self.ingests[ingest] += 1
        for status in result.spotify_errors:
            self.spotify_errors[status] += 1

    def render(self) -> str:
        """The whole exposition text."""
        lines: list[str] = []
        counters = (
            ("soundsync_links_total", "OAuth callbacks by outcome", "outcome", self.links),
            ("soundsync_ingests_total", "Profile ingestions by result", "result", self.ingests),
            ("soundsync_spotify_errors_total", "Spotify error answers by HTTP status",
             "status", self.spotify_errors),
        )
        for name, help_text, label, counter in counters:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            lines += [f"{name}{_labels(**{label: k})} {v}" for k, v in sorted(counter.items())]
        name = "soundsync_http_request_duration_seconds"
        lines += [f"# HELP {name} Web request latency by route", f"# TYPE {name} histogram"]
        lines += self.latency.lines(name, "route")
        return "\n".join(lines) + "\n"
