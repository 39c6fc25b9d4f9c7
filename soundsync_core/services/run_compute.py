"""The CPU part of a recluster: pure, run in an executor. The only caller of the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from soundsync_core.repositories.community import Community
from soundsync_core.repositories.runs import GLOBAL_SCOPE
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.neighbours import Exclusions
from soundsync_core.taste.tribes import Tribe, TribeResult

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """Rows ready for COPY (without the run id) and what the summary needs."""

    k: int
    tribes: list[Tribe]
    scopes: list[int]
    center_rows: list[tuple]
    member_rows: list[tuple]
    match_rows: list[tuple]
    metrics: dict[str, Any] = field(default_factory=dict)


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


def compute_run(
    community: Community, matches_per_member: int, seed: int, progress: ProgressCallback
) -> RunResult:
    """Fit the taste space, find tribes, rank every member's matches in every scope."""
    profiles = community.profiles
    user_ids = np.array([p.user_id for p in profiles], dtype=np.int64)
    index_of = {int(u): i for i, u in enumerate(user_ids)}
    progress("vectors", 0, 1)
    space = TasteSpace.fit(profiles, seed=seed)
    progress("vectors", 1, 1)
    progress("tribes", 0, 1)
    tribes = space.tribes()
    progress("tribes", 1, 1)
    hidden = {i for i, u in enumerate(user_ids) if community.visibility.get(int(u)) == "hidden"}
    pairs = {(index_of[a], index_of[b]) for a, b in community.exclusions
             if a in index_of and b in index_of}
    scopes = _scopes(community, index_of)
    table = space.top_matches(
        scopes, k=matches_per_member, exclude=Exclusions.of(hidden, pairs),
        progress=lambda done, total: progress("matching", done, total),
    )
    match_rows = []
    total = len(table.user_idx)
    columns = zip(table.scope_id, table.user_idx, table.other_idx, table.rank, table.percent,
                  strict=True)
    for n, (scope, i, j, rank, pct) in enumerate(columns):
        match_rows.append((int(scope), int(user_ids[i]), int(rank), int(user_ids[j]),
                           float(pct), space.reasons(int(i), int(j))))
        if n % 5000 == 0:
            progress("reasons", n, total)
    progress("reasons", total, total)
    return RunResult(
        k=tribes.k,
        tribes=tribes.tribes,
        scopes=sorted(scopes) if community.guild_only is None else [community.guild_only],
        center_rows=_center_rows(tribes),
        member_rows=_member_rows(user_ids, space.embedding, tribes),
        match_rows=match_rows,
        metrics={"silhouette": tribes.silhouette, "calibration": space.calibration.to_dict()},
    )
