"""``soundsync bench quality``: matching quality on synthetic communities with planted tastes.

Every method sees the same profiles and returns top-k lists (global scope); each list is
scored against the planted taste groups (definitions in :mod:`soundsync_bench.metrics`).
Each community is scored twice: as generated ("full": some members have playcounts, genres
and audio features) and as a new Spotify app sees it ("restricted app": top 50 artists and
tracks, ranks only — no playcounts, genres or audio features).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from soundsync_bench.baselines import (
    Recommender,
    cosine,
    jaccard,
    random_order,
    seed_method,
)
from soundsync_bench.legacy import legacy_engine
from soundsync_bench.metrics import RankingScore, precision_recall_at_k, relevant_members
from soundsync_core.taste.profile import TasteProfile
from soundsync_synthetic import SyntheticCommunity, generate_community

PRODUCT = "SoundSync engine"
LEGACY = "previous engine: IDF cosine + CSLS"
VARIANTS = ("full", "restricted app")
Progress = Callable[[str], None]


def product(profiles: Sequence[TasteProfile], k: int) -> dict[int, list[int]]:
    """The product's recommendations (``soundsync_core.taste.engine.recommend``)."""
    # Imported here: the engine is built separately and the baselines must run without it.
    from soundsync_core.taste.engine import recommend

    return recommend(profiles, k)


def product_unavailable() -> str | None:
    """Why the product cannot be benchmarked (engine not importable), or None when it can."""
    try:
        from soundsync_core.taste.engine import recommend  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


def default_methods() -> dict[str, Recommender]:
    """Method name → recommender, the product first."""
    return {
        PRODUCT: product,
        LEGACY: legacy_engine,
        "seed: PCA + KMeans(6), same cluster": seed_method,
        "Jaccard of artist sets": jaccard,
        "cosine of binary artist vectors": cosine,
        "random (chance level)": random_order,
    }


@dataclass(frozen=True)
class QualityRow:
    """One method on one community size and variant, mean and spread over seeds."""

    variant: str
    members: int
    method: str
    precision: float
    recall: float
    precision_sd: float
    recall_sd: float
    seeds: int
    seconds: float  # mean wall time of one recommend call


@dataclass(frozen=True)
class QualityReport:
    """Rows of a run plus notes (e.g. a method that could not run)."""

    k: int
    rows: list[QualityRow]
    notes: list[str] = field(default_factory=list)


def evaluate(
    method: Recommender, community: SyntheticCommunity, k: int = 10
) -> tuple[RankingScore, float]:
    """Score one method on one community; returns the score and the seconds it took."""
    started = time.perf_counter()
    recommended = method(community.profiles, k)
    seconds = time.perf_counter() - started
    return precision_recall_at_k(recommended, relevant_members(community.groups), k), seconds


def run_quality(
    sizes: Sequence[int] = (300, 1000),
    seeds: int = 3,
    *,
    k: int = 10,
    methods: Mapping[str, Recommender] | None = None,
    progress: Progress | None = None,
) -> QualityReport:
    """Run every method on ``seeds`` communities per size, both variants; rows for the table."""
    methods = dict(methods or default_methods())
    scores: dict[tuple[str, int, str], list[tuple[RankingScore, float]]] = {}
    notes: list[str] = []
    missing = product_unavailable() if PRODUCT in methods else None
    if missing is not None:
        del methods[PRODUCT]
        notes.append(f"{PRODUCT}: not run, the engine is not importable yet ({missing}).")
    for size in sizes:
        for seed in range(seeds):
            community = generate_community(size, seed=seed)
            for variant, view in zip(VARIANTS, _views(community), strict=True):
                for name, method in methods.items():
                    _say(progress, f"{size} members, seed {seed}, {variant}: {name}")
                    scores.setdefault((variant, size, name), []).append(
                        evaluate(method, view, k)
                    )
    return QualityReport(k=k, rows=_rows(scores), notes=notes)


def _views(community: SyntheticCommunity) -> Iterable[SyntheticCommunity]:
    yield community
    yield community.restricted_app()


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _rows(scores: Mapping[tuple[str, int, str], list[tuple[RankingScore, float]]]) -> list[QualityRow]:
    rows = []
    for (variant, size, name), results in scores.items():
        precisions = [score.precision for score, _ in results]
        recalls = [score.recall for score, _ in results]
        rows.append(
            QualityRow(
                variant=variant,
                members=size,
                method=name,
                precision=statistics.fmean(precisions),
                recall=statistics.fmean(recalls),
                precision_sd=_sd(precisions),
                recall_sd=_sd(recalls),
                seeds=len(results),
                seconds=statistics.fmean(seconds for _, seconds in results),
            )
        )
    return sorted(rows, key=lambda r: (VARIANTS.index(r.variant), r.members))


def _sd(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def format_markdown(report: QualityReport) -> str:
    """The report as a markdown table plus the definitions a reader needs to trust it."""
    k = report.k
    lines = [
        f"| community | members | method | P@{k} | R@{k} | s/run |",
        "|---|---:|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r.variant} | {r.members} | {r.method} | {r.precision:.3f} ± {r.precision_sd:.3f} "
        f"| {r.recall:.3f} ± {r.recall_sd:.3f} | {r.seconds:.2f} |"
        for r in report.rows
    ]
    seeds = max((r.seeds for r in report.rows), default=0)
    lines += ["", *_definitions(k, seeds), *(f"- Note: {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def _definitions(k: int, seeds: int) -> list[str]:
    return [
        f"- Mean ± standard deviation over {seeds} synthetic community(ies) per size "
        f"(seeds 0…{seeds - 1}); global scope (every member may match every other).",
        "- Relevant = another member sharing at least one planted main taste group "
        "(a taste carrying ≥ 1/3 of the member's tastes).",
        f"- P@{k} = relevant among the first {k} / {k} (missing entries count as misses); "
        f"R@{k} = relevant among the first {k} / min({k}, #relevant) — equal to P@{k} whenever "
        f"a member has ≥ {k} relevant others.",
        "- restricted app = the same members as a new Spotify app sees them: top 50 artists and "
        "tracks, no playcounts, genres or audio features (the seed method has nothing left).",
        f"- {PRODUCT} = rarity-weighted inner product of per-member normalised weights "
        "(issue #11); previous engine = per-view cosines of IDF-weighted vectors with the CSLS hub "
        "correction, as the engine scored until then (`soundsync_bench/legacy.py`).",
        "- seed = each member's top-5 tracks × (acousticness, instrumentalness, danceability, "
        "energy, loudness) in rank order; missing slots filled with the slot mean; "
        "StandardScaler → PCA(2) → KMeans(6); recommends only same-cluster members, nearest first "
        "(2, 5 or 25 PCA components score within noise of each other here).",
    ]
