"""Scoring a member who joined after the last recluster, on the run's frozen % scale.

The new member is scored exactly against everyone (one row of products). Hub radii are needed
only for the members that can reach the top of the list, so they are computed exactly for the
new member and the best raw candidates instead of refitting the whole population's radii;
the percentages come from the run's stored :class:`Calibration`, so "87 %" means the same as in
the run's precomputed matches. With no run yet for the scope, the candidates themselves provide
the scale.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundsync_core.taste.calibration import Calibration
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.hubs import corrected, radii_of
from soundsync_core.taste.profile import TasteProfile
from soundsync_core.taste.similarity import block_scores, member_slice
from soundsync_core.taste.vectors import artist_entries

# Hub correction only demotes or mildly promotes, so the true top-k lies among the best raw.
RAW_SHORTLIST = 50


@dataclass(frozen=True)
class LiveMatch:
    """One live match of a late joiner (``percent`` on the stored scale, 0…1)."""

    user_id: int
    rank: int
    raw: float
    corrected: float
    percent: float
    reasons: dict[str, Any]


def score_late_joiner(
    profile: TasteProfile,
    existing: Sequence[TasteProfile],
    calibration: Calibration | None,
    *,
    k: int = 20,
    exclude_user_ids: Collection[int] = (),
    seed: int = 0,
) -> list[LiveMatch]:
    """Top ``k`` existing members for ``profile`` (hidden/blocked ids in ``exclude_user_ids``);
    ``calibration`` None: the scale is fitted on ``profile`` and ``existing``."""
    others = [p for p in existing if p.user_id != profile.user_id]
    if not others:
        return []
    if calibration is None:
        calibration = TasteSpace.fit([profile, *others], seed=seed).calibration
    space = TasteSpace.fit([*others, profile], seed=seed, calibration=calibration)
    me = space.n_members - 1
    raw = _raw_row(space, me)
    excluded = set(exclude_user_ids)
    banned = np.array([p.user_id in excluded for p in others] + [True])
    raw[banned] = -np.inf
    shortlist = _best(raw, max(3 * k, RAW_SHORTLIST))
    shortlist = shortlist[np.isfinite(raw[shortlist])]
    radii = radii_of(space.vectors, np.concatenate([[me], shortlist]))
    score = corrected(raw[shortlist], radii[0], radii[1:])
    order = np.argsort(-score, kind="stable")[:k]
    percent = calibration.percent(score[order])
    return [
        LiveMatch(
            user_id=others[shortlist[o]].user_id,
            rank=rank,
            raw=float(raw[shortlist[o]]),
            corrected=float(score[o]),
            percent=float(p),
            reasons=space.reasons(me, int(shortlist[o])),
        )
        for rank, (o, p) in enumerate(zip(order, percent, strict=True), start=1)
    ]


def _raw_row(space: TasteSpace, member: int) -> np.ndarray:
    vectors = space.vectors
    row = member_slice(vectors, np.array([member]))
    return block_scores(vectors, row, member_slice(vectors, np.arange(space.n_members)))[0]


def _best(values: np.ndarray, count: int) -> np.ndarray:
    count = min(count, len(values))
    return np.argpartition(-values, count - 1)[:count]


def nearest_tribes(me: TasteProfile, artist_weights: Mapping[int, Mapping[str, float]]) -> list[int]:
    """Tribe ids ordered by the cosine of the member's artists to each tribe's artist profile."""
    weights = {e.item: e.weight for e in artist_entries(me)}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0

    def closeness(tribe: int) -> float:
        profile = artist_weights[tribe]
        tribe_norm = math.sqrt(sum(w * w for w in profile.values())) or 1.0
        return sum(weights.get(a, 0.0) * w for a, w in profile.items()) / (norm * tribe_norm)

    return sorted(artist_weights, key=lambda tribe: (-closeness(tribe), tribe))
