"""The web app's Prometheus metrics (``prometheus-client``), one registry per app.

A registry of its own, not the library's global one: every app (each test builds several)
counts only its own requests. The numbers are per process, like any Prometheus client's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

from soundsync_core.repositories import accounts
from soundsync_core.services import linking
from soundsync_core.services.linking import LinkResult

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_INGEST_RESULT = {linking.LINKED: "ingested", linking.PENDING: "deferred",
                  accounts.NOT_ALLOWLISTED: "refused"}


class Metrics:
    """The web app's counters: links, ingests, Spotify errors, request latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.links = Counter("soundsync_links", "OAuth callbacks by outcome", ["outcome"],
                             registry=self.registry)
        self.ingests = Counter("soundsync_ingests", "Profile ingestions by result", ["result"],
                               registry=self.registry)
        self.spotify_errors = Counter("soundsync_spotify_errors",
                                      "Spotify error answers by HTTP status", ["status"],
                                      registry=self.registry)
        self.latency = Histogram("soundsync_http_request_duration_seconds",
                                 "Web request latency by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)

    def observe_request(self, route: str, seconds: float) -> None:
        """One request's latency, labelled by route template (never by raw path)."""
        self.latency.labels(route=route).observe(seconds)

    def record_link(self, result: LinkResult) -> None:
        """Count one callback's outcome (and the ingest and Spotify errors it involved)."""
        self.links.labels(outcome=result.outcome).inc()
        ingest = _INGEST_RESULT.get(result.outcome)
        if ingest is not None:
            self.ingests.labels(result=ingest).inc()
        for status in result.spotify_errors:
            self.spotify_errors.labels(status=status).inc()

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition and its content type, in the format the ``Accept`` header asks for
        (Prometheus text by default, OpenMetrics when the scraper prefers it)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
