"""The CPU part of a recluster: pure, run in an executor. The only caller of the engine.

It imports no repository: the caller (:mod:`recluster`) reads the community and writes the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from soundsync_core.taste.blocks import IN_PROCESS, BlockRunner
from soundsync_core.taste.bulk_reasons import PACKED, VIEW_NUMBER, pack_reasons
from soundsync_core.taste.community import GLOBAL_SCOPE, Community
from soundsync_core.taste.engine import MatchTable, TasteSpace
from soundsync_core.taste.match_rows import MatchRows
from soundsync_core.taste.neighbours import Exclusions
from soundsync_core.taste.similarity import TasteVectors
from soundsync_core.taste.tribes import Tribe, TribeResult

ProgressCallback = Callable[[str, int, int], None]
# Pairs whose reasons one task packs: a chunk of rows is split so that every worker gets a share.
PAIRS_PER_TASK = 25_000


@dataclass
class RunResult:
    """Rows ready for COPY (without the run id), what the summary needs, seconds per step."""

    k: int
    tribes: list[Tribe]
    scopes: list[int]
    center_rows: list[tuple]
    member_rows: list[tuple]
    matches: MatchRows
    metrics: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)


def _scopes(community: Community, index_of: dict[int, int]) -> dict[int, np.ndarray]:
    """Scope id → member indices: each guild, plus the global scope of ``global`` members."""
    scopes = {
        guild: np.array([index_of[u] for u in members if u in index_of], dtype=np.int64)
        for guild, members in community.guild_members.items()
    }
    if community.guild_only is None:
        global_members = [
            index_of[u] for u, v in community.visibility.items() if v == "global" and u in index_of
        ]
        scopes[GLOBAL_SCOPE] = np.array(global_members, dtype=np.int64)
    return {scope: members for scope, members in scopes.items() if len(members) > 1}


def _center_rows(tribes: TribeResult) -> list[tuple]:
    return [
        (t.id, t.size, t.name, [a["name"] for a in t.top_artists],
         [g["name"] for g in t.top_genres], [float(x) for x in t.centre], t.artist_profile)
        for t in tribes.tribes
    ]


def _member_rows(user_ids: np.ndarray, embedding: np.ndarray, tribes: TribeResult) -> list[tuple]:
    centres = {t.id: np.asarray(t.centre) for t in tribes.tribes}
    rows = []
    for i, user_id in enumerate(user_ids):
        label = int(tribes.labels[i])
        distance = float(np.linalg.norm(embedding[i] - centres[label]))
        x, y = tribes.coordinates[i]
        rows.append((int(user_id), label, distance, float(x), float(y)))
    return rows


class _Clock:
    """Seconds per step, for the recluster's stage breakdown."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._mark = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.stages[name] = now - self._mark
        self._mark = now


def _timed(work: Callable[[], TribeResult]) -> tuple[TribeResult, float]:
    start = time.monotonic()
    return work(), time.monotonic() - start


def compute_run(
    community: Community,
    matches_per_member: int,
    seed: int,
    progress: ProgressCallback,
    runner: BlockRunner = IN_PROCESS,
) -> RunResult:
    """Fit the taste space, find tribes, rank every member's matches in every scope.

    ``runner`` runs the heavy blocks (scores, top-k, reasons as they are written); the result
    does not depend on it.
    """
    clock = _Clock()
    user_ids = community.profiles.user_ids
    index_of = {int(u): i for i, u in enumerate(user_ids)}
    progress("vectors", 0, 1)
    space = TasteSpace.fit(community.profiles, seed=seed)
    progress("vectors", 1, 1)
    clock.lap("fit")
    hidden = {i for i, u in enumerate(user_ids) if community.visibility.get(int(u)) == "hidden"}
    pairs = {(index_of[a], index_of[b]) for a, b in community.exclusions
             if a in index_of and b in index_of}
    scopes = _scopes(community, index_of)
    progress("tribes", 0, 1)
    # Tribes (SVD + KMeans, in this process) beside the matching (mostly on the runner's
    # workers): neither needs the other, and one of them alone leaves a core idle.
    with ThreadPoolExecutor(1, thread_name_prefix="tribes") as beside:
        tribes_done = beside.submit(_timed, space.tribes)
        table = space.top_matches(
            scopes, k=matches_per_member, exclude=Exclusions.of(hidden, pairs),
            progress=lambda done, total: progress("matching", done, total), runner=runner,
        )
        clock.lap("matching")
        tribes, clock.stages["tribes (beside matching)"] = tribes_done.result()
    progress("tribes", 1, 1)
    clock.lap("tribes, after matching")
    matches = _match_rows(space, table, user_ids, runner)
    return RunResult(
        k=tribes.k,
        tribes=tribes.tribes,
        scopes=sorted(scopes) if community.guild_only is None else [community.guild_only],
        center_rows=_center_rows(tribes),
        member_rows=_member_rows(user_ids, space.embedding, tribes),
        matches=matches,
        metrics={"silhouette": tribes.silhouette},
        stages=clock.stages,
    )


def _match_rows(
    space: TasteSpace, table: MatchTable, user_ids: np.ndarray, runner: BlockRunner
) -> MatchRows:
    """Match rows in ``(scope, member, rank)`` order; their reasons are made when written."""
    order = np.lexsort((table.rank, table.user_idx, table.scope_id))
    left, right = table.user_idx[order], table.other_idx[order]
    return MatchRows(
        scope_id=table.scope_id[order], user_id=user_ids[left], rank=table.rank[order],
        other_id=user_ids[right], score=table.percent[order],
        reasons=PairReasons(space.vectors, left, right, user_ids, runner),
    )


class PairReasons:
    """The packed reasons of rows ``(left[k], right[k])``, in bulk, chunk by chunk, each pair once.

    A pair often appears several times (both members list each other; a guild and the global
    scope): its reasons are computed the first time a chunk needs them, with the member of the
    smaller user id as "a" (readers say which side they are on, see :func:`expand_packed`).
    """

    def __init__(
        self,
        vectors: TasteVectors,
        left: np.ndarray,
        right: np.ndarray,
        user_ids: np.ndarray,
        runner: BlockRunner = IN_PROCESS,
    ) -> None:
        self._vectors = vectors
        self._runner = runner
        a_first = user_ids[left] < user_ids[right]
        pair_a, pair_b = np.where(a_first, left, right), np.where(a_first, right, left)
        keys, self._row_pair = np.unique(pair_a * len(user_ids) + pair_b, return_inverse=True)
        self._a, self._b = keys // len(user_ids), keys % len(user_ids)
        self._packed = np.zeros(len(keys), dtype=PACKED)
        self._done = np.zeros(len(keys), dtype=bool)

    def __call__(self, start: int, end: int) -> np.ndarray:
        needed = self._row_pair[start:end]
        new = np.unique(needed[~self._done[needed]])
        pieces = ((self._a[new[s : s + PAIRS_PER_TASK]], self._b[new[s : s + PAIRS_PER_TASK]])
                  for s in range(0, len(new), PAIRS_PER_TASK))
        packed = list(self._runner.map(pack_reasons, (self._vectors,), pieces))
        if packed:
            self._packed[new] = np.concatenate(packed)
        self._done[new] = True
        return self._packed[needed]

    def items(self) -> dict[str, np.ndarray]:
        return {view: self._vectors.items[view].ids for view in VIEW_NUMBER}
