"""Hub correction (CSLS, cross-domain similarity local scaling).

In high-dimensional similarity spaces a few "hub" members — typically someone listing all the
most popular artists — are moderately close to everyone and would top most lists. CSLS replaces
``raw(i, j)`` by ``2·raw(i, j) − r_i − r_j`` where ``r_i`` is the mean raw score of *i*'s
:data:`HUB_NEIGHBOURS` nearest neighbours in the whole population: being close to a hub is
discounted by how close the hub is to everybody. The correction is symmetric by construction
and, for a fixed member, re-ranks candidates by ``raw(i, j) − r_j / 2``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from soundsync_core.taste.neighbours import Progress, neighbours
from soundsync_core.taste.similarity import TasteVectors, block_scores, member_slice

HUB_NEIGHBOURS = 10


def hub_radii(
    vectors: TasteVectors,
    *,
    embedding: Callable[[], np.ndarray] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> np.ndarray:
    """``r_i`` for every member: mean raw score of its nearest neighbours (0 when alone)."""
    n = vectors.n_members
    k = min(HUB_NEIGHBOURS, n - 1)
    if k < 1:
        return np.zeros(n, dtype=np.float32)
    found = neighbours(vectors, np.arange(n), k, embedding=embedding, seed=seed, progress=progress)
    return radii_from(found.raw, found.others)


def radii_from(raw: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Mean of the valid entries of each row of a top-k raw-score table."""
    valid = others >= 0
    total = np.where(valid, raw, 0.0).sum(axis=1)
    count = valid.sum(axis=1)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0).astype(np.float32)


def corrected(raw: np.ndarray, radius_i: np.ndarray, radius_j: np.ndarray) -> np.ndarray:
    """CSLS score ``2·raw − r_i − r_j`` (element-wise)."""
    return 2.0 * np.asarray(raw) - np.asarray(radius_i) - np.asarray(radius_j)


def radii_of(vectors: TasteVectors, members: np.ndarray) -> np.ndarray:
    """Exact ``r_i`` for a few members against the whole population (live scoring)."""
    members = np.asarray(members, dtype=np.int64)
    everyone = member_slice(vectors, np.arange(vectors.n_members))
    raw = block_scores(vectors, member_slice(vectors, members), everyone)
    raw[np.arange(len(members)), members] = -np.inf
    k = min(HUB_NEIGHBOURS, vectors.n_members - 1)
    if k < 1:
        return np.zeros(len(members), dtype=np.float32)
    top = -np.partition(-raw, k - 1, axis=1)[:, :k]
    return top.mean(axis=1).astype(np.float32)
