"""The taste engine's facade: :class:`TasteSpace` and the convenience :func:`recommend`.

Pure CPU work (numpy/scipy/scikit-learn), deterministic given ``seed``, no asyncio: the async
side runs it in an executor. Members are addressed by their row index (``index_of(user_id)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from soundsync_core.taste.calibration import Calibration, sample_pairs
from soundsync_core.taste.embedding import map_coordinates, taste_embedding
from soundsync_core.taste.hubs import corrected, hub_radii
from soundsync_core.taste.neighbours import Exclusions, Neighbours, Progress, neighbours
from soundsync_core.taste.profile import ProfileTable, TasteProfile, as_table
from soundsync_core.taste.reasons import pair_reasons
from soundsync_core.taste.similarity import TasteVectors, build_vectors, pair_scores
from soundsync_core.taste.tribes import TribeResult, choose_k, cluster, describe_tribes

CALIBRATION_PAIRS = 50_000


@dataclass(frozen=True)
class PairScore:
    """Raw compatibility, hub-corrected (ranking) score, and calibrated percent (0…1)."""

    raw: float
    corrected: float
    percent: float


@dataclass(frozen=True)
class MatchTable:
    """Top matches as parallel arrays, one row per (scope, member, rank)."""

    scope_id: np.ndarray
    user_idx: np.ndarray
    other_idx: np.ndarray
    rank: np.ndarray
    raw: np.ndarray
    corrected: np.ndarray
    percent: np.ndarray

    def __len__(self) -> int:
        return len(self.user_idx)


class TasteSpace:
    """A fitted population: vectors, IDF, hub radii, calibration, embedding (lazily).

    ``members`` is the population's :class:`ProfileTable` (row order = member index).
    """

    def __init__(
        self,
        members: ProfileTable,
        vectors: TasteVectors,
        *,
        seed: int = 0,
        calibration: Calibration | None = None,
    ) -> None:
        self.members = members
        self.vectors = vectors
        self.seed = seed
        self._calibration = calibration
        self._radii: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        members: ProfileTable | Sequence[TasteProfile],
        *,
        seed: int = 0,
        calibration: Calibration | None = None,
        progress: Progress | None = None,
    ) -> TasteSpace:
        """Build every view; compute hub radii and the calibration unless one is given."""
        table = as_table(members)
        space = cls(table, build_vectors(table, seed=seed), seed=seed, calibration=calibration)
        if calibration is None:
            space._hub_radii(progress)
        return space

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
    def embedding(self) -> np.ndarray:
        """L2-normalised SVD embedding (members × ≤ 48), computed once."""
        return taste_embedding(self.vectors, seed=self.seed)

    @property
    def radii(self) -> np.ndarray:
        """CSLS hub radius of every member."""
        return self._hub_radii(None)

    def _hub_radii(self, progress: Progress | None) -> np.ndarray:
        if self._radii is None:
            self._radii = hub_radii(
                self.vectors, embedding=lambda: self.embedding, seed=self.seed, progress=progress
            )
        return self._radii

    @property
    def calibration(self) -> Calibration:
        """The percentile scale (fitted on random pairs of this population unless given)."""
        if self._calibration is None:
            left, right = sample_pairs(self.n_members, CALIBRATION_PAIRS, self.seed)
            scores = self.ranking_scores(left, right)
            self._calibration = Calibration.fit(scores, n_members=self.n_members)
        return self._calibration

    def ranking_scores(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Hub-corrected scores of the pairs ``(left[k], right[k])``."""
        raw = pair_scores(self.vectors, left, right)
        return corrected(raw, self.radii[left], self.radii[right])

    def compatibility(self, i: int, j: int) -> PairScore:
        """Raw, corrected and calibrated compatibility of members ``i`` and ``j``."""
        left, right = np.array([i]), np.array([j])
        raw = float(pair_scores(self.vectors, left, right)[0])
        score = float(corrected(raw, self.radii[i], self.radii[j]))
        return PairScore(raw, score, float(self.calibration.percent(score)))

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
    ) -> MatchTable:
        """Top ``k`` matches of every member of every scope (scope id → member indices).

        Ranked by the hub-corrected score; self, hidden members and excluded pairs never appear.
        Scopes above 5 000 members use cluster-probed candidate generation (see
        :mod:`neighbours`); ``progress(done, total)`` counts members over all scopes.
        """
        total = sum(len(set(members)) for members in scopes.values())
        parts: list[tuple[int, Neighbours]] = []
        offset = 0
        for scope_id, members in scopes.items():
            tick = _offset_progress(progress, offset, total)
            found = neighbours(
                self.vectors,
                np.asarray(list(members), dtype=np.int64),
                k,
                radii=self.radii,
                exclusions=exclude,
                embedding=lambda: self.embedding,
                seed=self.seed,
                progress=tick,
            )
            parts.append((scope_id, found))
            offset += len(found.rows)
        return self._table(parts)

    def _table(self, parts: list[tuple[int, Neighbours]]) -> MatchTable:
        pieces = [_flatten(scope_id, found) for scope_id, found in parts]
        if not pieces:
            pieces = [_flatten(0, neighbours(self.vectors, np.zeros(0, dtype=np.int64), 1))]
        merged = [np.concatenate(column) for column in zip(*pieces, strict=True)]
        percent = self.calibration.percent(merged[-1]).astype(np.float32)
        return MatchTable(*merged, percent)

    def tribes(self, k: int | None = None) -> TribeResult:
        """Taste tribes (k chosen by silhouette unless given) and 2-D map coordinates."""
        embedding = self.embedding
        silhouette = None
        if k is None:
            k, silhouette = choose_k(embedding, seed=self.seed)
        labels, centres = cluster(embedding, max(1, min(k, self.n_members)), seed=self.seed)
        items = self.vectors.items
        described = describe_tribes(labels, centres, items["artists"], items["genres"], self.names["artists"])
        coords = map_coordinates(embedding, seed=self.seed)
        return TribeResult(described, labels, coords, silhouette)


def _flatten(scope_id: int, found: Neighbours) -> tuple[np.ndarray, ...]:
    """(scope, user, other, rank, raw, corrected) columns of the valid entries of a table."""
    valid = found.others >= 0
    rows, ranks = np.nonzero(valid)
    return (
        np.full(len(rows), scope_id, dtype=np.int64),
        found.rows[rows],
        found.others[valid],
        ranks.astype(np.int64) + 1,
        found.raw[valid],
        found.score[valid],
    )


def _offset_progress(progress: Progress | None, offset: int, total: int) -> Progress | None:
    if progress is None:
        return None
    return lambda done, _scope_total: progress(offset + done, total)


def recommend(profiles: Sequence[TasteProfile], k: int = 10, *, seed: int = 0) -> dict[int, list[int]]:
    """Global scope, everyone visible: user id → up to ``k`` recommended user ids, best first."""
    space = TasteSpace.fit(profiles, seed=seed)
    table = space.top_matches({0: range(space.n_members)}, k)
    out: dict[int, list[int]] = {p.user_id: [] for p in profiles}
    order = np.lexsort((table.rank, table.user_idx))
    for user, other in zip(table.user_idx[order], table.other_idx[order], strict=True):
        out[profiles[user].user_id].append(profiles[other].user_id)
    return out
