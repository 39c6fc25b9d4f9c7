"""Top-M neighbours within a scope: exact blocked products, or a shared-item search at scale.

Both paths score candidates exactly and rank them by that symmetric score (an inner product of
the members' weighted vectors — not a cosine), equal scores by member index.

* **Exact** (scopes up to :data:`EXACT_LIMIT` members): row blocks × the whole scope.
* **Shared-item search** (larger scopes, :mod:`shared_items`): each member's candidates are the
  members sharing the scope's less common items with them, best first by that partial score;
  the best of them are scored exactly. Every pair found is then offered to both members (the
  score is symmetric). A found match is never mis-scored; recall of the exact top 10 is tested
  in ``tests/unit/taste/test_matching.py`` and measured by ``soundsync bench scale``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundsync_core.taste.blocks import IN_PROCESS, BlockRunner
from soundsync_core.taste.kernels import offer_both_ways
from soundsync_core.taste.shared_items import (
    best_candidates,
    exact_scores,
    forget_indexes,
    indexed_scope,
    query_blocks,
    short_rows,
)
from soundsync_core.taste.similarity import TasteVectors, block_scores, member_slice

# Above this many members the search costs less per member than the exact product (measured at
# 100,000 members: 0.11 against 0.12 ms at 2,000, 0.21 against 0.13 ms at 3,500).
EXACT_LIMIT = 2_000
BLOCK_CELLS = 4_000_000  # dense cells per scored block (~16 MB of float32)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Exclusions:
    """Who must never be shown: hidden members (as others) and symmetric excluded pairs."""

    hidden: frozenset[int] = frozenset()
    pairs: Mapping[int, frozenset[int]] | None = None

    @classmethod
    def of(
        cls,
        hidden: Iterable[int] = (),
        pairs: Iterable[tuple[int, int]] = (),
    ) -> Exclusions:
        """Build from member indices; a pair (a, b) hides a from b **and** b from a."""
        by_member: dict[int, set[int]] = {}
        for a, b in pairs:
            by_member.setdefault(int(a), set()).add(int(b))
            by_member.setdefault(int(b), set()).add(int(a))
        hidden_set = frozenset(int(m) for m in hidden)
        return cls(hidden_set, {m: frozenset(o) for m, o in by_member.items()})


@dataclass(frozen=True)
class Neighbours:
    """Per query member: others sorted by score (``-1`` / ``-inf`` pad short rows)."""

    rows: np.ndarray
    others: np.ndarray
    score: np.ndarray


def neighbours(
    vectors: TasteVectors,
    scope: np.ndarray,
    m: int,
    *,
    exclusions: Exclusions | None = None,
    progress: Progress | None = None,
    runner: BlockRunner | None = None,
) -> Neighbours:
    """Top-``m`` others of every member of ``scope`` (member indices) within ``scope``."""
    return dict(scopes_as_found(vectors, {0: scope}, m, exclusions=exclusions, progress=progress,
                                runner=runner))[0]


def scopes_as_found(
    vectors: TasteVectors,
    scopes: Mapping[int, Iterable[int]],
    m: int,
    *,
    exclusions: Exclusions | None = None,
    progress: Progress | None = None,
    runner: BlockRunner | None = None,
) -> Iterator[tuple[int, Neighbours]]:
    """Each scope's top-``m`` others of every member within it, yielded as soon as the scope's
    last block is in (small scopes first), so a caller can store one scope while the next is
    ranked instead of holding every scope's table at once.

    ``runner`` scores and ranks the blocks (default: here, one after the other); the result
    does not depend on it. All blocks go to the runner as one stream: every small scope's exact
    blocks (a guild of a few hundred members is one block: one scope at a time would leave all
    workers but one idle), then every large scope's search blocks. ``progress(done, total)``
    counts members over all scopes.
    """
    masks = Masks.of(exclusions or Exclusions(), vectors.n_members)
    runner = runner or IN_PROCESS
    members = {s: np.unique(np.asarray(list(v), dtype=np.int64)) for s, v in scopes.items()}
    total = sum(len(v) for v in members.values())
    done = 0
    # One stream of blocks for the whole run: every small scope's exact blocks, then every large
    # scope's search blocks (each process builds a scope's index for its first block), so the
    # workers never wait for the next scope.
    plan = [(s, (False, q, members[s][q], members[s], m))
            for s, v in members.items() if len(v) <= EXACT_LIMIT for q in _exact_blocks(v)]
    plan += [(s, (True, members[s], q, m))
             for s, v in members.items() if len(v) > EXACT_LIMIT for q in query_blocks(len(v))]
    blocks_left = Counter(s for s, _ in plan)
    for scope_id in members.keys() - blocks_left.keys():  # no block: nobody to rank
        yield scope_id, _empty(members[scope_id], m)
    # A scope's table is made at its first block: only the scopes in flight hold one (all of
    # them at once were 480 MB at a million members).
    found: dict[int, Neighbours] = {}
    try:
        results = runner.map(match_block, (vectors, masks), (item for _, item in plan))
        for (scope_id, _), (query_pos, others, score) in zip(plan, results, strict=True):
            if scope_id not in found:
                found[scope_id] = _empty(members[scope_id], m)
            table = found[scope_id]
            table.others[query_pos, : others.shape[1]] = others
            table.score[query_pos, : score.shape[1]] = score
            done += len(query_pos)
            if progress is not None:
                progress(done, total)
            blocks_left[scope_id] -= 1
            if not blocks_left[scope_id]:
                table = found.pop(scope_id)
                yield scope_id, (_both_ways(table, masks.hidden) if len(table.rows) > EXACT_LIMIT
                                 else table)
    finally:
        forget_indexes()


def match_block(
    vectors: TasteVectors, masks: Masks, search: bool, *item: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block of the run's stream: :func:`search_block` (``search``) or :func:`rank_block`."""
    return (search_block if search else rank_block)(vectors, masks, *item)


def _both_ways(found: Neighbours, hidden: np.ndarray) -> Neighbours:
    """Offer every found pair to both members: the score is symmetric, so when the search put
    *v* in *u*'s list, *u* belongs in *v*'s list if it scores high enough there — a free second
    chance for pairs the search found in one direction only (*v* among *u*'s best candidates
    but not *u* among *v*'s); hidden members excepted."""
    out = _empty(found.rows, found.others.shape[1])
    other_row = np.searchsorted(found.rows, np.maximum(found.others, 0))
    offer_both_ways(found.rows, found.others, found.score, other_row, ~hidden[found.rows],
                    out.others, out.score)
    return out


def _empty(scope: np.ndarray, m: int) -> Neighbours:
    n = len(scope)
    return Neighbours(
        scope,
        np.full((n, m), -1, dtype=np.int64),
        np.full((n, m), -np.inf, dtype=np.float32),
    )


def _exact_blocks(scope: np.ndarray) -> Iterator[np.ndarray]:
    step = max(1, BLOCK_CELLS // max(len(scope), 1))
    for start in range(0, len(scope), step):
        yield np.arange(start, min(start + step, len(scope)))


@dataclass(frozen=True)
class Masks:
    """What every block masks: hidden members (as others) and each member's excluded others."""

    hidden: np.ndarray
    pairs: Mapping[int, frozenset[int]]

    @classmethod
    def of(cls, exclusions: Exclusions, n_members: int) -> Masks:
        """The boolean hidden mask of ``n_members`` and the exclusions' pairs."""
        hidden = np.zeros(n_members, dtype=bool)
        hidden[list(exclusions.hidden)] = True
        return cls(hidden, exclusions.pairs or {})


def rank_block(
    vectors: TasteVectors,
    masks: Masks,
    query_pos: np.ndarray,
    queries: np.ndarray,
    candidates: np.ndarray,
    m: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score one block and keep the top ``m`` candidates of each query.

    Returns ``(query_pos, others, score)``: others are member indices best first (``-1`` where
    fewer are allowed), equal scores ordered by member index — the user id order, as a
    :class:`ProfileTable` is sorted by user id — so every runner picks the same top ``m``.
    """
    score = block_scores(
        vectors, member_slice(vectors, queries), member_slice(vectors, candidates)
    )
    _mask(score, masks, queries, candidates)
    keep = min(m, len(candidates))
    key = _ranking_key(score, candidates)
    top = np.argpartition(key, len(candidates) - keep, axis=1)[:, len(candidates) - keep :]
    order = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    best = np.take_along_axis(score, top, axis=1)
    return query_pos, np.where(np.isfinite(best), candidates[top], -1), best


def _ranking_key(score: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """One int64 per cell ordered like (score, −member index): ties go to the smaller index."""
    # Adding +0.0 turns −0.0 into +0.0; flipping a negative float's magnitude bits makes its
    # int32 bit pattern order like its value.
    bits = (score + np.float32(0.0)).view(np.int32)
    ordered = np.where(bits < 0, bits ^ np.int32(0x7FFFFFFF), bits).astype(np.int64)
    return (ordered << 32) | (0xFFFFFFFF - candidates.astype(np.int64))


def _mask(score: np.ndarray, masks: Masks, queries: np.ndarray, candidates: np.ndarray) -> None:
    score[:, masks.hidden[candidates]] = -np.inf
    order = np.argsort(candidates, kind="stable")
    sorted_candidates = candidates[order]

    def positions(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``candidates`` of those of ``members`` that are candidates."""
        at = np.minimum(np.searchsorted(sorted_candidates, members), len(candidates) - 1)
        found = sorted_candidates[at] == members
        return found, order[at]

    found, own = positions(queries)
    score[np.flatnonzero(found), own[found]] = -np.inf
    if not masks.pairs:
        return
    for row in np.flatnonzero(np.isin(queries, list(masks.pairs))):
        excluded = np.fromiter(masks.pairs[int(queries[row])], dtype=np.int64)
        found, cols = positions(excluded)
        score[row, cols[found]] = -np.inf


def search_block(
    vectors: TasteVectors, masks: Masks, scope: np.ndarray, query_pos: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rank_block` for the members at ``query_pos`` of a large scope (member indices,
    ascending), by shared-item search (:mod:`shared_items`): same return shape, others best
    first, ties by member index."""
    index = indexed_scope(vectors, scope)
    queries = index.scope[query_pos]
    found = best_candidates(index, query_pos, masks.hidden)
    score = exact_scores(vectors, index, query_pos, found)
    others = index.scope[found.col]
    _drop_excluded(score, masks, queries[found.row], others)
    out_others, out_score = _best_per_row(found.row, others, score, len(query_pos), m)
    short = short_rows(found, len(query_pos), m, len(index.scope))
    step = max(1, BLOCK_CELLS // len(index.scope))
    for start in range(0, len(short), step):
        rows = short[start : start + step]
        _, exact_others, exact_score = rank_block(vectors, masks, rows, queries[rows], index.scope, m)
        out_others[rows, : exact_others.shape[1]] = exact_others
        out_score[rows, : exact_score.shape[1]] = exact_score
    return query_pos, out_others, out_score


def _drop_excluded(score: np.ndarray, masks: Masks, left: np.ndarray, right: np.ndarray) -> None:
    if not masks.pairs:
        return
    for k in np.flatnonzero(np.isin(left, list(masks.pairs))):
        if int(right[k]) in masks.pairs[int(left[k])]:
            score[k] = -np.inf


def _best_per_row(
    row: np.ndarray, others: np.ndarray, score: np.ndarray, n_rows: int, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """(others, score) tables of ``n_rows × m``: each row's best by score, then member index.

    A row has at most ``CANDIDATES + 1`` entries, so they are sorted as one small table (one
    ranking key per cell, as :func:`rank_block` ranks) rather than by one sort of them all.
    """
    keep = np.isfinite(score)
    row, others, score = row[keep], others[keep], score[keep]
    by_row = np.argsort(row, kind="stable")
    row, others, score = row[by_row], others[by_row], score[by_row]
    sizes = np.bincount(row, minlength=n_rows)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    width = max(int(sizes.max(initial=0)), m)
    key = np.full((n_rows, width), np.iinfo(np.int64).min, dtype=np.int64)
    key[row, slot] = _ranking_key(score[None, :], others)[0]
    at = np.full((n_rows, width), -1, dtype=np.int64)
    at[row, slot] = np.arange(len(row))
    best = np.take_along_axis(at, np.argsort(key, axis=1)[:, ::-1][:, :m], axis=1)
    found = best >= 0
    out_others = np.full((n_rows, m), -1, dtype=np.int64)
    out_score = np.full((n_rows, m), -np.inf, dtype=np.float32)
    out_others[found] = others[best[found]]
    out_score[found] = score[best[found]]
    return out_others, out_score
