"""Scoring a member who linked after the last recluster (pure; run in an executor)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from soundsync_core.taste import late_joiners
from soundsync_core.taste.calibration import Calibration
from soundsync_core.taste.engine import TasteSpace
from soundsync_core.taste.profile import TasteProfile
from soundsync_core.taste.vectors import artist_entries


def score_late_joiner(
    me: TasteProfile,
    others: Sequence[TasteProfile],
    *,
    calibration: Calibration | None,
    k: int,
) -> list[tuple[int, float, dict[str, Any]]]:
    """``(other user id, compatibility 0…1, reasons)`` of the best ``k`` candidates.

    The percentage uses the live run's calibration, so it reads on the same scale as the stored
    matches; with no run yet for the scope, the candidates themselves provide the scale.
    """
    if not others:
        return []
    if calibration is None:
        calibration = TasteSpace.fit([me, *others]).calibration
    found = late_joiners.score_late_joiner(me, others, calibration, k=k)
    return [(m.user_id, m.percent, m.reasons) for m in found]


def nearest_tribes(me: TasteProfile, artist_weights: Mapping[int, Mapping[str, float]]) -> list[int]:
    """Tribe ids ordered by the cosine of the member's artists to each tribe's artist profile."""
    weights = {e.item: e.weight for e in artist_entries(me)}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0

    def closeness(tribe: int) -> float:
        profile = artist_weights[tribe]
        tribe_norm = math.sqrt(sum(w * w for w in profile.values())) or 1.0
        return sum(weights.get(a, 0.0) * w for a, w in profile.items()) / (norm * tribe_norm)

    return sorted(artist_weights, key=lambda tribe: (-closeness(tribe), tribe))
