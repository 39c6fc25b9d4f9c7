"""Each pair's strongest shared items, compiled: the inner loop of a recluster's stored reasons.

A recluster packs the reasons of millions of pairs (:func:`bulk_reasons.pack_reasons`). With
scipy it took four row gathers, three element-wise products and a sort per view and chunk:
about 3.8 µs of CPU a pair at 100k members. Here one pass per pair reads the other member's row
once and probes the first member's columns, scattered into a table that stays valid for as long
as consecutive pairs share their first member (a run's pairs come sorted by it): ~1 µs a pair,
most of it the memory reads of the second row.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def top_shared(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    ranks: np.ndarray,
    n_cols: int,
    left: np.ndarray,
    right: np.ndarray,
    cols: np.ndarray,
    rank_a: np.ndarray,
    rank_b: np.ndarray,
) -> None:
    """Fill row ``p`` of ``cols``/``rank_a``/``rank_b`` with the shared items of pair
    ``(left[p], right[p])``: strongest product of weights first (compared as float32), equal
    ones in column order, at most ``cols.shape[1]``; slots past the last stay as given.

    Rows must be canonical (sorted columns, no duplicates); ``ranks`` has ``weights``' pattern.
    """
    limit = cols.shape[1]
    strength = np.empty(limit, dtype=np.float32)
    owner = np.full(n_cols, -1, dtype=np.int64)  # whose row last filled the column's slot
    slot = np.zeros(n_cols, dtype=np.int64)
    for p in range(left.shape[0]):
        a = left[p]
        if p == 0 or left[p - 1] != a:
            for i in range(indptr[a], indptr[a + 1]):
                owner[indices[i]] = a
                slot[indices[i]] = i
        kept = 0
        for j in range(indptr[right[p]], indptr[right[p] + 1]):
            col = indices[j]
            if owner[col] != a:
                continue
            i = slot[col]
            product = weights[i] * weights[j]
            if product == 0:
                continue
            value = np.float32(product)
            pos = kept
            while pos > 0 and strength[pos - 1] < value:
                pos -= 1
            if pos == limit:
                continue
            for q in range(min(kept, limit - 1), pos, -1):
                strength[q] = strength[q - 1]
                cols[p, q] = cols[p, q - 1]
                rank_a[p, q] = rank_a[p, q - 1]
                rank_b[p, q] = rank_b[p, q - 1]
            strength[pos] = value
            cols[p, pos] = col
            rank_a[p, pos] = ranks[i]
            rank_b[p, pos] = ranks[j]
            kept = min(kept + 1, limit)
