"""Taste tribes: KMeans on the taste embedding with k chosen from the data, named by lift.

* **k**: the mean silhouette (cosine geometry, the embedding rows are unit vectors) of KMeans
  fits on a fixed random sample, over ``k = 2 … min(20, n // 3)``; the best wins (a tribe
  averages three members at least, so six jazz and metal listeners make two tribes). Fewer than
  :data:`MIN_MEMBERS_FOR_TRIBES` members → one tribe. Everything is seeded, so deterministic.
* **Fit**: KMeans for up to :data:`MINIBATCH_ABOVE` members, MiniBatchKMeans beyond.
* **Name**: the tribe's most *distinctive* genre and artists — ranked by
  ``share_in_tribe · log(lift)`` with ``lift = share_in_tribe / share_in_population`` (the
  population the run was fitted on: the guild for a guild's recluster), a minimum support and a
  minimum lift of :data:`MIN_LIFT`, so a niche artist two members share does not name a
  500-member tribe, an artist everyone lists does not name any, and a genre only a little more
  common in the tribe than around it ("uk ambient" in a dance-pop tribe) is not listed at all;
  nor is a secondary taste of part of the tribe (scoring under :data:`RELATIVE_SCORE` of the
  tribe's most distinctive item).
  Names are unique within the run (so within every guild): a name already taken is made from
  the tribe's next distinctive artists, or numbered.
* **Late joiners**: each tribe keeps a sparse ``artist_profile`` (mean of its members' normalised
  artist vectors, top :data:`PROFILE_SIZE`); :func:`assign_to_tribe` picks the best cosine.

Tribes describe a community; they never decide who is matched with whom.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from soundsync_core.taste.profile import TasteProfile
from soundsync_core.taste.vectors import ItemView, artist_entries

MIN_MEMBERS_FOR_TRIBES = 6
MAX_TRIBES = 20
MINIBATCH_ABOVE = 20_000
SILHOUETTE_SAMPLE = 2_000
PROFILE_SIZE = 100
TOP_ITEMS = 10
MIN_SUPPORT_SHARE = 0.1
MIN_LIFT = 1.25
# Listed items score at least this share of the tribe's most distinctive one: a tribe of jazz
# listeners half of whom also like folk is a jazz tribe, and folk is not listed for it.
RELATIVE_SCORE = 0.5
MEMBERS_PER_TRIBE = 3
# A split of a mixed tribe leaves at least this many members on each side.
MIN_SPLIT_SIDE = 4


@dataclass(frozen=True)
class Tribe:
    """One taste tribe (JSON-ready via :meth:`to_dict`)."""

    id: int
    size: int
    name: str
    top_artists: list[dict[str, Any]]
    top_genres: list[dict[str, Any]]
    centre: list[float]
    artist_profile: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class TribeResult:
    """Tribes, each member's tribe id, and 2-D taste-map coordinates (row order = members)."""

    tribes: tuple[Tribe, ...]
    labels: np.ndarray
    coordinates: np.ndarray
    silhouette: float | None

    @property
    def k(self) -> int:
        """Number of tribes."""
        return len(self.tribes)


def choose_k(embedding: np.ndarray, *, seed: int = 0) -> tuple[int, float | None]:
    """Best k by silhouette on a seeded sample (1 and None for tiny or degenerate data)."""
    n = len(embedding)
    high = min(MAX_TRIBES, n // MEMBERS_PER_TRIBE)
    if n < MIN_MEMBERS_FOR_TRIBES or high < 2:
        return 1, None
    rng = np.random.default_rng(seed)
    sample = embedding[rng.choice(n, min(n, SILHOUETTE_SAMPLE), replace=False)]
    if len(np.unique(sample, axis=0)) < 3:
        return 1, None
    best_k, best_score = 1, -1.0
    with one_openmp_thread():
        for k in range(2, high + 1):
            labels = KMeans(n_clusters=k, n_init=2, random_state=seed).fit_predict(sample)
            if len(np.unique(labels)) < 2:
                continue
            score = float(silhouette_score(sample, labels, metric="cosine"))
            if score > best_score + 1e-9:
                best_k, best_score = k, score
    return best_k, (best_score if best_k > 1 else None)


def one_openmp_thread() -> threadpool_limits:
    """scikit-learn's KMeans on one OpenMP thread: on a busy 2-core host its threads spin-wait
    for each other, and 19 small fits took 5.5 s instead of 0.6 s (same labels)."""
    return threadpool_limits(limits=1, user_api="openmp")


def cluster(embedding: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and centres for ``k`` tribes (KMeans, or MiniBatchKMeans for large n)."""
    if k <= 1:
        centre = embedding.mean(axis=0, keepdims=True) if len(embedding) else embedding[:1]
        return np.zeros(len(embedding), dtype=np.int64), centre
    if len(embedding) > MINIBATCH_ABOVE:
        model: KMeans | MiniBatchKMeans = MiniBatchKMeans(
            n_clusters=k, n_init=3, batch_size=4096, random_state=seed
        )
    else:
        model = KMeans(n_clusters=k, n_init=4, random_state=seed)
    with one_openmp_thread():
        labels = model.fit_predict(embedding)
    return labels.astype(np.int64), model.cluster_centers_


def split_mixed_tribes(
    embedding: np.ndarray, labels: np.ndarray, silhouette: float, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split every tribe whose two halves are further apart than the tribes are from each other.

    KMeans at the silhouette's k would rather merge two small tastes than leave a large, diffuse
    one whole (its objective is the sum of squared distances), so a tribe of jazz and reggae
    fans can come out named after one of them. A tribe is split in two when the silhouette of
    that split beats the whole clustering's ``silhouette`` (so no threshold of its own), and
    again until no tribe splits (or there are as many tribes as k may be). Returns the labels
    and each tribe's mean position.
    """
    labels = labels.copy()
    rng = np.random.default_rng(seed)
    cap = max(MAX_TRIBES, int(labels.max()) + 1)  # never more tribes than k may give
    for _ in range(MAX_TRIBES):
        before = int(labels.max()) + 1
        for tribe in range(before):
            rows = np.flatnonzero(labels == tribe)
            if int(labels.max()) + 1 >= cap or len(rows) < 2 * MIN_SPLIT_SIDE:
                continue
            # The split is judged on a sample of a large tribe, then applied to all its members.
            sample = rows if len(rows) <= SILHOUETTE_SAMPLE else rng.choice(
                rows, SILHOUETTE_SAMPLE, replace=False)
            model = KMeans(n_clusters=2, n_init=4, random_state=seed).fit(embedding[sample])
            if np.bincount(model.labels_, minlength=2).min() < MIN_SPLIT_SIDE:
                continue
            if silhouette_score(embedding[sample], model.labels_, metric="cosine") > silhouette:
                halves = model.predict(embedding[rows])
                labels[rows[halves == 1]] = int(labels.max()) + 1
        if int(labels.max()) + 1 == before:
            break
    centres = np.stack([embedding[labels == t].mean(axis=0) for t in range(int(labels.max()) + 1)])
    return labels, centres


def describe_tribes(
    labels: np.ndarray,
    centres: np.ndarray,
    artists: ItemView,
    genres: ItemView,
    artist_names: Mapping[str, str],
) -> tuple[Tribe, ...]:
    """Build every :class:`Tribe` from the labels (empty clusters are dropped)."""
    k = len(centres)
    onehot = sp.csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))),
        shape=(k, len(labels)),
    )
    sizes = np.asarray(onehot.sum(axis=1)).ravel()
    artist_stats = _item_stats(onehot, artists, sizes)
    genre_stats = _item_stats(onehot, genres, sizes)
    weight_sums = np.asarray((onehot @ artists.matrix).todense())
    tribes = []
    taken: set[str] = set()
    for t in np.flatnonzero(sizes > 0):
        top_artists = _distinctive(artist_stats, t, sizes[t], artists.ids, artist_names)
        top_genres = _distinctive(genre_stats, t, sizes[t], genres.ids, {})
        name = _unique_name(top_artists, top_genres, int(t), taken)
        taken.add(name)
        tribes.append(
            Tribe(
                id=int(t),
                size=int(sizes[t]),
                name=name,
                top_artists=top_artists,
                top_genres=top_genres,
                centre=[round(float(x), 6) for x in centres[t]],
                artist_profile=_profile(weight_sums[t] / sizes[t], artists.ids),
            )
        )
    return tuple(tribes)


def _item_stats(onehot: sp.csr_matrix, view: ItemView, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members of each tribe having each item: k × items, population share per item)."""
    has = view.matrix.copy()
    has.data[:] = 1.0
    counts = np.asarray((onehot @ has).todense())
    population = counts.sum(axis=0) / max(sizes.sum(), 1.0)
    return counts, population


def _distinctive(
    stats: tuple[np.ndarray, np.ndarray],
    t: int,
    size: float,
    ids: np.ndarray,
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    counts, population = stats
    if counts.shape[1] == 0:
        return []
    share = counts[t] / size
    support = max(2.0, math.ceil(MIN_SUPPORT_SHARE * size)) if size >= 2 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(population > 0, share / population, 0.0)
        score = np.where((counts[t] >= support) & (lift >= MIN_LIFT), share * np.log(lift), 0.0)
    floor = RELATIVE_SCORE * float(score.max(initial=0.0))
    best = [c for c in np.argsort(-score, kind="stable")[:TOP_ITEMS] if score[c] > 0 and score[c] >= floor]
    return [
        {
            "id": str(ids[c]),
            "name": names.get(str(ids[c]), str(ids[c])),
            "share": round(float(share[c]), 4),
            "lift": round(float(lift[c]), 3),
        }
        for c in best
    ]


def _unique_name(
    top_artists: list[dict[str, Any]], top_genres: list[dict[str, Any]], t: int, taken: set[str]
) -> str:
    """Top genre and two artists; on a clash the next artists, then a number, until unused."""
    genre = [g["name"] for g in top_genres[:1]]
    artists = [a["name"] for a in top_artists]
    for start in range(max(1, len(artists) - 1)):
        name = " · ".join(genre + artists[start : start + 2]) or f"Tribe {t + 1}"
        if name not in taken:
            return name
    base, number = name, 2
    while f"{base} ({number})" in taken:
        number += 1
    return f"{base} ({number})"


def _profile(mean_row: np.ndarray, ids: np.ndarray) -> dict[str, float]:
    top = [c for c in np.argsort(-mean_row, kind="stable")[:PROFILE_SIZE] if mean_row[c] > 0]
    norm = float(np.linalg.norm(mean_row[top])) or 1.0
    return {str(ids[c]): round(float(mean_row[c]) / norm, 6) for c in top}


def assign_to_tribe(profile: TasteProfile, tribes: Sequence[Tribe]) -> int | None:
    """Tribe id whose artist profile is closest (cosine) to a late joiner; None if no overlap."""
    weights = {entry.item: entry.weight for entry in artist_entries(profile)}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    best_id, best = None, 0.0
    for tribe in tribes:
        score = sum(weights.get(a, 0.0) * w for a, w in tribe.artist_profile.items()) / norm
        if score > best:
            best_id, best = tribe.id, score
    return best_id
