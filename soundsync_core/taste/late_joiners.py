"""Scoring a member who joined after the last recluster, on the run's frozen % scale.

The new member is scored exactly against everyone (one row of products). Hub radii are needed
only for the members that can reach the top of the list, so they are computed exactly for the
new member and the best raw candidates instead of refitting the whole population's radii;
the percentages come from the run's stored :class:`Calibration`, so "87 %" means the same as in
the run's precomputed matches.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundsync_core.taste.calibration import Calibration
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.hubs import corrected, radii_of
from soundsync_core.taste.profile import TasteProfile
from soundsync_core.taste.similarity import block_scores, member_slice

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
    calibration: Calibration,
    *,
    k: int = 20,
    exclude_user_ids: Collection[int] = (),
    seed: int = 0,
) -> list[LiveMatch]:
    """Top ``k`` existing members for ``profile`` (hidden/blocked ids in ``exclude_user_ids``)."""
    others = [p for p in existing if p.user_id != profile.user_id]
    if not others:
        return []
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
