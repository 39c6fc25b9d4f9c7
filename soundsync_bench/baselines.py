"""Reference recommenders the product is measured against.

Each has the engine's signature ``(profiles, k) -> {user_id: [other user_ids, best first]}``.
Ties are broken at random (fixed seed), never by user id, so list order cannot leak anything.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy import sparse
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from soundsync_core.taste.profile import TasteProfile

Recommender = Callable[[Sequence[TasteProfile], int], dict[int, list[int]]]

# The seed's input: the first five tracks by rank, five features each, concatenated.
SEED_TRACKS = 5
SEED_FEATURES: tuple[str, ...] = (
    "acousticness",
    "instrumentalness",
    "danceability",
    "energy",
    "loudness",
)
SEED_CLUSTERS = 6
_BLOCK_ROWS = 1024  # similarity rows held at once: memory stays O(block x n)
_TIE_BREAK = 1e-9  # far below any real score gap (Jaccard steps are >= 1/(150*150))


def artist_matrix(profiles: Sequence[TasteProfile]) -> sparse.csr_matrix:
    """Binary member x artist matrix (1 = the artist is in the member's top list)."""
    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for row, profile in enumerate(profiles):
        for artist in profile.artists:
            rows.append(row)
            cols.append(index.setdefault(artist.id, len(index)))
    data = np.ones(len(rows), dtype=np.float64)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(profiles), max(len(index), 1)))
    matrix.data[:] = 1.0  # a duplicated artist entry counts once
    return matrix


def jaccard(profiles: Sequence[TasteProfile], k: int) -> dict[int, list[int]]:
    """Rank others by |A ∩ B| / |A ∪ B| of top-artist sets (ranks ignored)."""
    matrix = artist_matrix(profiles)
    sizes = np.asarray(matrix.sum(axis=1)).ravel()

    def score(rows: slice, inter: np.ndarray) -> np.ndarray:
        return inter / np.maximum(sizes[rows, None] + sizes[None, :] - inter, 1.0)

    return _rank_blocks(profiles, matrix, k, score)


def cosine(profiles: Sequence[TasteProfile], k: int) -> dict[int, list[int]]:
    """Rank others by the cosine of binary artist vectors (ranks ignored)."""
    matrix = artist_matrix(profiles)
    norms = np.sqrt(np.maximum(np.asarray(matrix.sum(axis=1)).ravel(), 1.0))

    def score(rows: slice, inter: np.ndarray) -> np.ndarray:
        return inter / (norms[rows, None] * norms[None, :])

    return _rank_blocks(profiles, matrix, k, score)


def _rank_blocks(
    profiles: Sequence[TasteProfile],
    matrix: sparse.csr_matrix,
    k: int,
    score: Callable[[slice, np.ndarray], np.ndarray],
) -> dict[int, list[int]]:
    ids = np.array([p.user_id for p in profiles])
    rng = np.random.default_rng(0)
    out: dict[int, list[int]] = {}
    for start, stop in _blocks(len(profiles)):
        inter = (matrix[start:stop] @ matrix.T).toarray()
        scores = score(slice(start, stop), inter) + _TIE_BREAK * rng.random(inter.shape)
        scores[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never yourself
        for row, best in enumerate(_top_k(scores, k)):
            out[int(ids[start + row])] = ids[best].tolist()
    return out


def random_order(profiles: Sequence[TasteProfile], k: int) -> dict[int, list[int]]:
    """Chance level: k other members drawn at random (fixed seed)."""
    ids = np.array([p.user_id for p in profiles])
    rng = np.random.default_rng(0)
    scores = rng.random((len(ids), len(ids)))
    np.fill_diagonal(scores, -np.inf)
    return {int(ids[row]): ids[best].tolist() for row, best in enumerate(_top_k(scores, k))}


def _blocks(n: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, _BLOCK_ROWS):
        yield start, min(start + _BLOCK_ROWS, n)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first (self excluded via -inf)."""
    take = min(k, scores.shape[1] - 1)
    if take <= 0:
        return np.empty((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def seed_vectors(profiles: Sequence[TasteProfile]) -> np.ndarray:
    """The seed's 25-d input, NaN where a slot is missing (no track, or no features for it).

    Slot ``i`` is the member's rank-``i + 1`` track, as the seed concatenated them in order.
    """
    out = np.full((len(profiles), SEED_TRACKS * len(SEED_FEATURES)), np.nan)
    for row, profile in enumerate(profiles):
        for slot, track in enumerate(sorted(profile.tracks, key=lambda t: t.rank)[:SEED_TRACKS]):
            features = track.audio_features or {}
            for col, name in enumerate(SEED_FEATURES):
                if name in features:
                    out[row, slot * len(SEED_FEATURES) + col] = features[name]
    return out


def seed_method(
    profiles: Sequence[TasteProfile], k: int, *, n_components: int = 2
) -> dict[int, list[int]]:
    """The seed: 25-d vectors → StandardScaler → PCA → KMeans(6) → same cluster by distance.

    Missing slots are filled with that slot's mean over the members who have it (the seed
    could not run on NaN; the mean is the least harmful fill — zero would mean 0 dB loudness).
    Only members of one's own cluster are ever recommended, nearest in PCA space first.
    """
    embedding, labels = seed_clusters(profiles, n_components=n_components)
    ids = np.array([p.user_id for p in profiles])
    rng = np.random.default_rng(0)
    out: dict[int, list[int]] = {}
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        points = embedding[members]
        scores = -cdist(points, points) + _TIE_BREAK * rng.random((len(members), len(members)))
        np.fill_diagonal(scores, -np.inf)
        for row, best in enumerate(_top_k(scores, k)):
            out[int(ids[members[row]])] = ids[members[best]].tolist()
    return out


def seed_clusters(
    profiles: Sequence[TasteProfile], *, n_components: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """The seed's PCA embedding and KMeans(6) label of every member, in ``profiles`` order."""
    vectors = seed_vectors(profiles)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-missing slot
        means = np.nan_to_num(np.nanmean(vectors, axis=0))
    filled = np.where(np.isnan(vectors), means, vectors)
    scaled = StandardScaler().fit_transform(filled)
    n = len(vectors)
    if n < 2 or not np.any(scaled.std(axis=0) > 0):
        # No audio features at all (a new Spotify app): everyone is the same point, so the
        # seed has one cluster and no order — chance level, which is what it would deliver.
        return np.zeros((n, 1)), np.zeros(n, dtype=np.int64)
    components = min(n_components, scaled.shape[1], n)
    embedding = PCA(n_components=components, random_state=0).fit_transform(scaled)
    clusters = min(SEED_CLUSTERS, n)
    labels = KMeans(n_clusters=clusters, n_init=10, random_state=0).fit_predict(embedding)
    return embedding, labels
