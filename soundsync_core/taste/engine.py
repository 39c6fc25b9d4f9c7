"""The taste engine's facade: :class:`TasteSpace` and the convenience :func:`recommend`.

Pure CPU work (numpy/scipy/scikit-learn), deterministic given ``seed``, no asyncio: the async
side runs it in an executor. Members are addressed by their row index (``index_of(user_id)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np

from soundsync_core.taste.blocks import BlockRunner
from soundsync_core.taste.embedding import map_coordinates, svd_projection, unit_rows
from soundsync_core.taste.neighbours import (
    Exclusions,
    Neighbours,
    Progress,
    neighbours,
    scopes_as_found,
)
from soundsync_core.taste.percent import reader_percent
from soundsync_core.taste.profile import ProfileTable, TasteProfile, as_table
from soundsync_core.taste.reasons import pair_reasons
from soundsync_core.taste.similarity import TasteVectors, build_vectors, pair_scores, twin_scores
from soundsync_core.taste.tribes import (
    TribeResult,
    choose_k,
    cluster,
    describe_tribes,
    split_mixed_tribes,
)


@dataclass(frozen=True)
class PairScore:
    """The symmetric (ranking) score and the percent (0…1) the first member reads."""

    raw: float
    percent: float


@dataclass(frozen=True)
class MatchTable:
    """Top matches as parallel arrays, one row per (scope, member, rank), in that order.

    ``raw`` is the symmetric score that ranks; ``percent`` is what ``user_idx`` reads (0…1).
    """

    scope_id: np.ndarray
    user_idx: np.ndarray
    other_idx: np.ndarray
    rank: np.ndarray
    raw: np.ndarray
    percent: np.ndarray

    def __len__(self) -> int:
        return len(self.user_idx)


class TasteSpace:
    """A fitted population: vectors, twin scores and the SVD projection (lazily).

    ``members`` is the population's :class:`ProfileTable` (row order = member index).
    """

    def __init__(self, members: ProfileTable, vectors: TasteVectors, *, seed: int = 0) -> None:
        self.members = members
        self.vectors = vectors
        self.seed = seed

    @classmethod
    def fit(cls, members: ProfileTable | Sequence[TasteProfile], *, seed: int = 0) -> TasteSpace:
        """Build every view of ``members``."""
        table = as_table(members)
        return cls(table, build_vectors(table, seed=seed), seed=seed)

    @property
    def n_members(self) -> int:
        """Number of members."""
        return len(self.members)

    def index_of(self, user_id: int) -> int:
        """Row index of ``user_id`` (KeyError if unknown)."""
        return self._index[user_id]

    @cached_property
    def _index(self) -> dict[int, int]:
        return {int(u): i for i, u in enumerate(self.members.user_ids)}

    @cached_property
    def projection(self) -> np.ndarray:
        """SVD projection (members × ≤ 24) whose dot products approximate the scores."""
        return svd_projection(self.vectors, seed=self.seed)

    @cached_property
    def embedding(self) -> np.ndarray:
        """The projection's rows at unit length: tribes' and the map's geometry."""
        return unit_rows(self.projection)

    @cached_property
    def twins(self) -> np.ndarray:
        """Every member's score with an identical twin (the percentage's yardstick)."""
        return twin_scores(self.vectors, np.arange(self.n_members))

    def compatibility(self, i: int, j: int) -> PairScore:
        """Symmetric score of members ``i`` and ``j`` and the percent ``i`` reads."""
        raw = float(pair_scores(self.vectors, np.array([i]), np.array([j]))[0])
        return PairScore(raw, float(reader_percent(raw, self.twins[i])))

    @cached_property
    def names(self) -> dict[str, dict[str, str]]:
        """Display names by view: ``{"artists": {id: name}, "tracks": {id: name}}``."""
        return {"artists": self.members.artist_names, "tracks": self.members.track_names}

    def reasons(self, i: int, j: int) -> dict[str, Any]:
        """Why ``i`` and ``j`` match (JSON-serialisable, see :mod:`reasons`)."""
        return pair_reasons(self.vectors, i, j, self.names)

    def top_matches(
        self,
        scopes: Mapping[int, Sequence[int]],
        k: int = 20,
        *,
        exclude: Exclusions | None = None,
        progress: Progress | None = None,
        runner: BlockRunner | None = None,
    ) -> MatchTable:
        """Top ``k`` matches of every member of every scope (scope id → member indices).

        Ranked by the symmetric score; self, hidden members and excluded pairs never appear.
        Scopes above 2,000 members use a shared-item candidate search (see
        :mod:`neighbours`); ``progress(done, total)`` counts members over all scopes; ``runner``
        runs the scored blocks (default: in this process; same result either way). A
        recluster stores each scope as it is found instead (:func:`scopes_as_found`, then
        :meth:`table_of`), never holding every scope's rows at once.
        """
        found = sorted(scopes_as_found(self.vectors, scopes, k, exclusions=exclude,
                                       progress=progress, runner=runner), key=lambda pair: pair[0])
        tables = [self.table_of(scope_id, table) for scope_id, table in found] or [
            self.table_of(0, neighbours(self.vectors, np.zeros(0, dtype=np.int64), 1))]
        return MatchTable(*(np.concatenate([getattr(t, f.name) for t in tables])
                            for f in fields(MatchTable)))

    def table_of(self, scope_id: int, found: Neighbours) -> MatchTable:
        """One scope's found neighbours as match rows, with the percent each reader reads."""
        *columns, raw = _flatten(scope_id, found)
        return MatchTable(*columns, raw, reader_percent(raw, self.twins[columns[1]]).astype(np.float32))

    def tribes(self, k: int | None = None) -> TribeResult:
        """Taste tribes (k chosen by silhouette unless given) and 2-D map coordinates."""
        embedding = self.embedding
        silhouette = None
        if k is None:
            k, silhouette = choose_k(embedding, seed=self.seed)
        labels, centres = cluster(embedding, max(1, min(k, self.n_members)), seed=self.seed)
        if silhouette is not None:
            labels, centres = split_mixed_tribes(embedding, labels, silhouette, seed=self.seed)
        items = self.vectors.items
        described = describe_tribes(labels, centres, items["artists"], items["genres"], self.names["artists"])
        coords = map_coordinates(embedding, seed=self.seed)
        return TribeResult(described, labels, coords, silhouette)


def _flatten(scope_id: int, found: Neighbours) -> tuple[np.ndarray, ...]:
    """(scope, user, other, rank, raw) columns of the valid entries of a table."""
    valid = found.others >= 0
    rows, ranks = np.nonzero(valid)
    return (
        np.full(len(rows), scope_id, dtype=np.int64),
        found.rows[rows],
        found.others[valid],
        ranks.astype(np.int64) + 1,
        found.score[valid],
    )


def recommend(profiles: Sequence[TasteProfile], k: int = 10, *, seed: int = 0) -> dict[int, list[int]]:
    """Global scope, everyone visible: user id → up to ``k`` recommended user ids, best first."""
    space = TasteSpace.fit(profiles, seed=seed)
    table = space.top_matches({0: range(space.n_members)}, k)
    out: dict[int, list[int]] = {p.user_id: [] for p in profiles}
    order = np.lexsort((table.rank, table.user_idx))
    for user, other in zip(table.user_idx[order], table.other_idx[order], strict=True):
        out[profiles[user].user_id].append(profiles[other].user_id)
    return out
