"""The CPU part of a recluster, in phases: pure, run in an executor. The only caller of the engine.

:func:`fit` first; then :func:`find_tribes` beside :func:`rank_matches`. It imports
no repository: the caller (:mod:`recluster`) reads the community and writes the result as each
phase ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from soundsync_core.taste.blocks import IN_PROCESS, BlockRunner
from soundsync_core.taste.bulk_reasons import PACKED, VIEW_NUMBER, pack_reasons, swap_sides
from soundsync_core.taste.community import GLOBAL_SCOPE, Community
from soundsync_core.taste.engine import MatchTable, TasteSpace
from soundsync_core.taste.match_rows import MatchRows
from soundsync_core.taste.neighbours import Exclusions, scopes_as_found
from soundsync_core.taste.similarity import TasteVectors
from soundsync_core.taste.tribes import Tribe, TribeResult

# Rows whose reasons one task packs: a chunk of rows is split so that every worker gets a share.
PAIRS_PER_TASK = 25_000


@dataclass(frozen=True)
class Fitted:
    """A fitted population and what its matching needs: the first phase of a run."""

    space: TasteSpace
    scopes: dict[int, np.ndarray]  # scope id → member indices
    exclusions: Exclusions
    scope_ids: list[int]  # the scopes the run covers (a guild's run: that guild only)

    @property
    def user_ids(self) -> np.ndarray:
        """User id of each member index."""
        return self.space.members.user_ids

    def items(self) -> dict[str, np.ndarray]:
        """View name → the item id of each column the run's packed reasons refer to."""
        return {view: self.space.vectors.items[view].ids for view in VIEW_NUMBER}


@dataclass(frozen=True)
class TribeRows:
    """Tribes found, as rows ready for COPY (without the run id)."""

    k: int
    tribes: list[Tribe]
    center_rows: list[tuple]
    member_rows: list[tuple]
    silhouette: float | None


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


def fit(community: Community, seed: int) -> Fitted:
    """Build every view of the community and the scopes to rank (CPU: run it in an executor)."""
    fitted_space = TasteSpace.fit(community.profiles, seed=seed)
    # The listings are in the vectors now; the run goes on with the members' ids and names.
    space = TasteSpace(fitted_space.members.without_lists(), fitted_space.vectors, seed=seed)
    user_ids = community.profiles.user_ids
    index_of = {int(u): i for i, u in enumerate(user_ids)}
    hidden = {i for i, u in enumerate(user_ids) if community.visibility.get(int(u)) == "hidden"}
    pairs = {(index_of[a], index_of[b]) for a, b in community.exclusions
             if a in index_of and b in index_of}
    scopes = _scopes(community, index_of)
    scope_ids = sorted(scopes) if community.guild_only is None else [community.guild_only]
    return Fitted(space, scopes, Exclusions.of(hidden, pairs), scope_ids)


def find_tribes(fitted: Fitted) -> TribeRows:
    """Taste tribes and the map (SVD + KMeans in this process; CPU: run it in an executor)."""
    tribes = fitted.space.tribes()
    return TribeRows(tribes.k, tribes.tribes, _center_rows(tribes),
                     _member_rows(fitted.user_ids, fitted.space.embedding, tribes), tribes.silhouette)


def rank_matches(
    fitted: Fitted,
    matches_per_member: int,
    progress: Callable[[int, int], None],
    runner: BlockRunner = IN_PROCESS,
) -> Iterator[MatchRows]:
    """Every scope's top matches, one scope at a time as each is ranked, its rows in
    ``(member, rank)`` order; their reasons are made by ``runner`` as the rows are written
    (CPU: iterate it in an executor). A scope's rows are dropped once written: at no time
    does the run hold every scope's."""
    space = fitted.space
    found = scopes_as_found(space.vectors, fitted.scopes, matches_per_member,
                            exclusions=fitted.exclusions, progress=progress, runner=runner)
    for scope_id, neighbours in found:
        yield _match_rows(space, space.table_of(scope_id, neighbours), fitted.user_ids, runner)


def _match_rows(
    space: TasteSpace, table: MatchTable, user_ids: np.ndarray, runner: BlockRunner
) -> MatchRows:
    """Match rows in the engine's table's ``(scope, member, rank)`` order; their reasons are
    made when written."""
    left, right = table.user_idx, table.other_idx
    return MatchRows(
        scope_id=table.scope_id, user_id=user_ids[left], rank=table.rank, other_id=user_ids[right],
        score=table.percent, reasons=RowReasons(space.vectors, left, right, user_ids, runner),
    )


class RowReasons:
    """The packed reasons of rows ``(left[k], right[k])``, made chunk by chunk as they are written.

    Each row's record is computed from the reader's side (``left``: consecutive rows share it,
    which the compiled pass reuses), then its "a" and "b" fields are swapped where the reader
    has the larger user id, so that "a" is always the smaller one (readers say which side they
    are on, see :func:`expand_packed`). A pair listed twice is computed twice: remembering every
    pair's record to compute it once took more (sorting 4M rows' pairs, gathering the records
    back) than the second computation, and held them all at once.
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
        self._left, self._right = left, right
        self._swap = user_ids[left] > user_ids[right]

    def __call__(self, start: int, end: int) -> np.ndarray:
        bounds = [(s, min(s + PAIRS_PER_TASK, end)) for s in range(start, end, PAIRS_PER_TASK)]
        pieces = ((self._left[a:b], self._right[a:b]) for a, b in bounds)
        packed = list(self._runner.map(pack_reasons, (self._vectors,), pieces))
        records = np.concatenate(packed) if packed else np.zeros(0, dtype=PACKED)
        swap_sides(records, self._swap[start:end])
        return records
