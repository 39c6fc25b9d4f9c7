"""Scoring a member who joined after the last recluster.

The new member is scored exactly against everyone (one row of products) in a space fitted on
the population plus them. The percentage needs nothing stored with the run: it is the pair's
score over the new member's own twin score (:mod:`percent`), so it reads like the run's
precomputed matches.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.percent import reader_percent
from soundsync_core.taste.profile import TasteProfile
from soundsync_core.taste.similarity import block_scores, member_slice
from soundsync_core.taste.vectors import artist_entries


@dataclass(frozen=True)
class LiveMatch:
    """One live match of a late joiner (``percent`` as the late joiner reads it, 0…1)."""

    user_id: int
    rank: int
    raw: float
    percent: float
    reasons: dict[str, Any]


def score_late_joiner(
    profile: TasteProfile,
    existing: Sequence[TasteProfile],
    *,
    k: int = 20,
    exclude_user_ids: Collection[int] = (),
    seed: int = 0,
) -> list[LiveMatch]:
    """Top ``k`` existing members for ``profile`` (hidden/blocked ids in ``exclude_user_ids``)."""
    others = [p for p in existing if p.user_id != profile.user_id]
    if not others:
        return []
    space = TasteSpace.fit([*others, profile], seed=seed)
    me = space.n_members - 1
    raw = _raw_row(space, me)
    excluded = set(exclude_user_ids)
    banned = np.array([p.user_id in excluded for p in others] + [True])
    raw[banned] = -np.inf
    order = np.argsort(-raw, kind="stable")[:k]
    order = order[np.isfinite(raw[order])]
    percent = reader_percent(raw[order], space.twins[me])
    return [
        LiveMatch(
            user_id=others[o].user_id,
            rank=rank,
            raw=float(raw[o]),
            percent=float(p),
            reasons=space.reasons(me, int(o)),
        )
        for rank, (o, p) in enumerate(zip(order, percent, strict=True), start=1)
    ]


def _raw_row(space: TasteSpace, member: int) -> np.ndarray:
    vectors = space.vectors
    row = member_slice(vectors, np.array([member]))
    return block_scores(vectors, row, member_slice(vectors, np.arange(space.n_members)))[0]


def nearest_tribes(me: TasteProfile, artist_weights: Mapping[int, Mapping[str, float]]) -> list[int]:
    """Tribe ids ordered by the cosine of the member's artists to each tribe's artist profile."""
    weights = {e.item: e.weight for e in artist_entries(me)}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0

    def closeness(tribe: int) -> float:
        profile = artist_weights[tribe]
        tribe_norm = math.sqrt(sum(w * w for w in profile.values())) or 1.0
        return sum(weights.get(a, 0.0) * w for a, w in profile.items()) / (norm * tribe_norm)

    return sorted(artist_weights, key=lambda tribe: (-closeness(tribe), tribe))
