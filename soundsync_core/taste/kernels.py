"""Compiled inner loops of a recluster: stored reasons, candidate search, both-way offers.

numba compiles each on its first call and caches the machine code beside this module (or, where
that is read-only, in the user's cache directory), so later processes only load it.

:func:`top_shared` — each pair's strongest shared items, for a recluster's stored reasons. A
recluster packs the reasons of millions of pairs (:func:`bulk_reasons.pack_reasons`). With
scipy it took four row gathers, three element-wise products and a sort per view and chunk:
about 3.8 µs of CPU a pair at 100k members. Here one pass per pair reads the other member's row
once and probes the first member's columns, scattered into a table that stays valid for as long
as consecutive pairs share their first member (a run's pairs come sorted by it): ~1 µs a pair,
most of it the memory reads of the second row.

:func:`best_shared` — each query's best candidates by partial score (:mod:`shared_items`). It
was a sparse product of the block's rows with the scope's transpose, then a partition of every
product row padded to a common width: at 100k members, 7.5 s of the matching's 14 s of CPU.
Here each query's products are summed into one dense row of the scope and only the best are
picked, with no product matrix in between.

:func:`offer_both_ways` — a large scope's found pairs offered to both members
(:func:`neighbours._both_ways`): one insertion into each member's short sorted list per offer,
instead of a three-key sort of every offer (1.0 s at 100k members, in the process that collects
the blocks while the workers wait).

:func:`pair_dots` — the dot products of many pairs of rows of one matrix (the common items'
part of each candidate's exact score): the :func:`top_shared` pass, summing.

:func:`first_listings` — each member's first listing of every item, up to a cap
(:func:`vectors._weighted`): one pass instead of a sort of every listing to find repeats.

:func:`columns_by_appearance` — a view's columns in order of first appearance, in one pass
(it was a ``np.minimum.at`` over an index array of every entry).

:func:`non_decreasing` and :func:`listed_by_rank` — whether arrays are in order, without the
temporary arrays of ``np.all(np.diff(a) >= 0)`` (two of 400 MB for one view of a million
members).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _row_table(n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column: whose row last filled it (-1: nobody yet) and at which entry of that row."""
    return np.full(n_cols, -1, dtype=np.int64), np.zeros(n_cols, dtype=np.int64)


@njit(cache=True, nogil=True)
def _scatter_row(indptr: np.ndarray, indices: np.ndarray, row: int, owner: np.ndarray,
                 slot: np.ndarray) -> None:
    """Mark ``row``'s columns in the table of :func:`_row_table`: a probe of column ``c`` then
    finds ``owner[c] == row`` and the entry at ``slot[c]``, until another row is scattered."""
    for i in range(indptr[row], indptr[row + 1]):
        owner[indices[i]] = row
        slot[indices[i]] = i


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
    owner, slot = _row_table(n_cols)
    for p in range(left.shape[0]):
        a = left[p]
        if p == 0 or left[p - 1] != a:
            _scatter_row(indptr, indices, a, owner, slot)
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


@njit(cache=True, nogil=True)
def best_shared(  # the CSR arrays of the block's rows and of the scope's transpose
    row_indptr: np.ndarray,
    row_indices: np.ndarray,
    row_data: np.ndarray,
    t_indptr: np.ndarray,
    t_indices: np.ndarray,
    t_data: np.ndarray,
    query_pos: np.ndarray,
    excluded: np.ndarray,
    count: int,
    out_row: np.ndarray,
    out_col: np.ndarray,
    out_partial: np.ndarray,
) -> int:
    """For block row ``r`` (the scope member at ``query_pos[r]``): the ``count`` others with the
    highest ``Σ row[r, item] · t[item, other]`` (summed in float32, item by item, as scipy's
    product sums), never itself nor an ``excluded`` position. Which of several equal values at
    the cut stay is fixed by the order the products meet them (the same on every runner).
    Writes ``(r, other, partial)`` triples from the start of the outputs (each at least
    ``len(query_pos) · count`` long) and returns how many. Weights must be positive.
    """
    n_scope = excluded.shape[0]
    total = np.zeros(n_scope, dtype=np.float32)  # all zero again after each row
    touched = np.empty(n_scope, dtype=np.int64)
    heap_value = np.empty(count, dtype=np.float32)  # a min-heap of the best so far
    heap_other = np.empty(count, dtype=np.int64)
    filled = 0
    for r in range(query_pos.shape[0]):
        n_touched = 0
        for k in range(row_indptr[r], row_indptr[r + 1]):
            item, weight = row_indices[k], row_data[k]
            for e in range(t_indptr[item], t_indptr[item + 1]):
                other = t_indices[e]
                if total[other] == 0:  # 0 until first touched: weights are positive
                    touched[n_touched] = other
                    n_touched += 1
                total[other] += weight * t_data[e]
        size = 0
        for k in range(n_touched):
            other = touched[k]
            value = total[other]
            total[other] = 0
            if other == query_pos[r] or excluded[other]:
                continue
            if size < count:
                _heap_push(heap_value, heap_other, size, value, other)
                size += 1
            elif value > heap_value[0]:
                _heap_replace_min(heap_value, heap_other, size, value, other)
        for k in range(size):
            out_row[filled], out_col[filled], out_partial[filled] = r, heap_other[k], heap_value[k]
            filled += 1
    return filled


@njit(cache=True, nogil=True)
def _heap_push(values: np.ndarray, others: np.ndarray, size: int, value: float, other: int) -> None:
    at = size
    while at > 0:
        parent = (at - 1) // 2
        if values[parent] <= value:
            break
        values[at], others[at] = values[parent], others[parent]
        at = parent
    values[at], others[at] = value, other


@njit(cache=True, nogil=True)
def _heap_replace_min(values: np.ndarray, others: np.ndarray, size: int, value: float, other: int) -> None:
    at = 0
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and values[child + 1] < values[child]:
            child += 1
        if values[child] >= value:
            break
        values[at], others[at] = values[child], others[child]
        at = child
    values[at], others[at] = value, other


@njit(cache=True, nogil=True)
def offer_both_ways(
    members: np.ndarray,
    others: np.ndarray,
    score: np.ndarray,
    other_row: np.ndarray,
    offered_back: np.ndarray,
    out_others: np.ndarray,
    out_score: np.ndarray,
) -> None:
    """Row ``r`` of ``out_others``/``out_score`` (``-1``/``-inf`` filled): the best distinct
    others among row ``r``'s own entries and the entries that name ``members[r]``'s row as
    theirs, best score first, equal scores by member index; a pair met twice keeps its higher
    score.

    ``others[r, c]`` is a member index (``-1``: empty) whose row is ``other_row[r, c]``; it is
    offered ``members[r]`` back when ``offered_back[r]``.
    """
    for r in range(others.shape[0]):
        for c in range(others.shape[1]):
            other = others[r, c]
            if other < 0:
                continue
            _offer(out_others, out_score, r, other, score[r, c])
            if offered_back[r]:
                _offer(out_others, out_score, other_row[r, c], members[r], score[r, c])


@njit(cache=True, nogil=True)
def _offer(out_others: np.ndarray, out_score: np.ndarray, row: int, other: int, value: float) -> None:
    width = out_others.shape[1]
    end = width  # where the row's entries stop (the first empty slot)
    for k in range(width):
        if out_others[row, k] == other:
            if out_score[row, k] >= value:
                return
            end = _remove(out_others, out_score, row, k)
            break
        if out_others[row, k] < 0:
            end = k
            break
    pos = end
    while pos > 0 and (out_score[row, pos - 1] < value
                       or (out_score[row, pos - 1] == value and out_others[row, pos - 1] > other)):
        pos -= 1
    if pos == width:
        return
    for k in range(min(end, width - 1), pos, -1):
        out_others[row, k], out_score[row, k] = out_others[row, k - 1], out_score[row, k - 1]
    out_others[row, pos], out_score[row, pos] = other, value


@njit(cache=True, nogil=True)
def _remove(out_others: np.ndarray, out_score: np.ndarray, row: int, at: int) -> int:
    """Take entry ``at`` out of the row, closing the gap; returns where the entries now stop."""
    width = out_others.shape[1]
    k = at
    while k + 1 < width and out_others[row, k + 1] >= 0:
        out_others[row, k], out_score[row, k] = out_others[row, k + 1], out_score[row, k + 1]
        k += 1
    out_others[row, k], out_score[row, k] = -1, -np.inf
    return k


@njit(cache=True, nogil=True)
def columns_by_appearance(items: np.ndarray, n_items: int) -> tuple[np.ndarray, int]:
    """Each item's column, 0, 1, … in order of first appearance in ``items`` (-1: never), and
    how many appear."""
    column = np.full(n_items, -1, dtype=np.int32)
    used = 0
    for item in items:
        if column[item] < 0:
            column[item] = used
            used += 1
    return column, used


@njit(cache=True, nogil=True)
def non_decreasing(values: np.ndarray) -> bool:
    """Whether ``values[k] <= values[k + 1]`` everywhere."""
    for k in range(len(values) - 1):  # noqa: SIM110 (numba compiles a loop, not a generator)
        if values[k] > values[k + 1]:
            return False
    return True


@njit(cache=True, nogil=True)
def listed_by_rank(member: np.ndarray, rank: np.ndarray) -> bool:
    """Whether each next listing is another member's or ranked no better than the last one."""
    for k in range(len(member) - 1):  # noqa: SIM110 (numba compiles a loop, not a generator)
        if member[k + 1] <= member[k] and rank[k + 1] < rank[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def first_listings(member: np.ndarray, code: np.ndarray, n_codes: int, cap: int) -> np.ndarray:
    """Which listings to keep: a member's first listing of each code, at most ``cap`` a member.

    ``member`` must be non-decreasing (each member's listings in one run, best first).
    """
    keep = np.zeros(member.shape[0], dtype=np.bool_)
    seen_by = np.full(n_codes, -1, dtype=np.int64)  # the member whose run last kept the code
    kept = 0
    for k in range(member.shape[0]):
        if k == 0 or member[k] != member[k - 1]:
            kept = 0
        if kept >= cap or seen_by[code[k]] == member[k]:
            continue
        seen_by[code[k]] = member[k]
        keep[k] = True
        kept += 1
    return keep


@njit(cache=True, nogil=True)
def pair_dots(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    n_cols: int,
    left: np.ndarray,
    right: np.ndarray,
) -> np.ndarray:
    """``Σ_c m[left[p], c] · m[right[p], c]`` for every pair, summed in float32 in column order
    (scipy's element-wise product and row sum differ from it in the last bit at most). Rows
    must be canonical; consecutive pairs with the same left row share its scattered columns."""
    out = np.zeros(left.shape[0], dtype=np.float32)
    owner, slot = _row_table(n_cols)
    for p in range(left.shape[0]):
        a = left[p]
        if p == 0 or left[p - 1] != a:
            _scatter_row(indptr, indices, a, owner, slot)
        total = np.float32(0)
        for j in range(indptr[right[p]], indptr[right[p] + 1]):
            if owner[indices[j]] == a:
                total += data[slot[indices[j]]] * data[j]
        out[p] = total
    return out
