"""Calibrated compatibility %: the empirical CDF of the score over random member pairs.

**What "87 %" means.** A pair shown at 87 % scores higher than 87 % of all pairs of members of
the population the run was fitted on (the community at the last recluster): "better than 87 % of
random pairings". 50 % is a typical pair, 99 % a one-in-a-hundred pair, and pairs with nothing in
common sit near 0 %. The score calibrated is the hub-corrected one that ranks the matches, so
percentages always decrease down a member's list. The scale is frozen with the run
(:meth:`Calibration.to_dict`), so a member who joins later is placed on the same scale until the
next recluster.

README note (paste-ready):

    *Compatibility %* — SoundSync compares two members by the artists they rank highest (rare
    shared artists count more than ones everybody lists), their shared tracks, genres and
    overall sound, discounting "hub" profiles that resemble everyone. The % is a percentile: a
    92 % match is more compatible than 92 % of all possible pairs of members in the community
    at the last recluster. It is comparable between members and between weeks of the same
    community, but not an absolute "92 % identical": in a community of very similar tastes a
    92 % pair is still special relative to everyone else there.

The CDF is stored as quantiles on a grid that is dense in the upper tail (where matches live),
so 99.0 % and 99.9 % stay distinguishable. Values between quantiles are linearly interpolated,
ties (e.g. many pairs with nothing in common) map to the share of pairs *strictly* below, and
the mapping is monotone and bounded to 0…1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

CALIBRATION_VERSION = 1
PROBABILITIES: tuple[float, ...] = tuple(
    [round(p / 100, 2) for p in range(96)] + [0.96, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0]
)


@dataclass(frozen=True)
class Calibration:
    """Quantiles of the ranking score over random pairs; maps a score to a 0…1 percentile."""

    probabilities: tuple[float, ...]
    values: tuple[float, ...]
    n_pairs: int
    n_members: int

    @classmethod
    def fit(cls, scores: np.ndarray, *, n_members: int) -> Calibration:
        """Store the quantiles of ``scores`` (one score per sampled pair)."""
        scores = np.asarray(scores, dtype=np.float64)
        if len(scores) == 0:
            scores = np.zeros(1)
        values = np.quantile(scores, PROBABILITIES, method="inverted_cdf")
        return cls(PROBABILITIES, tuple(float(v) for v in values), len(scores), n_members)

    def percent(self, score: float | np.ndarray) -> np.ndarray:
        """Share (0…1) of random pairs scoring strictly below ``score``; vectorised."""
        xs, ps = self._knots()
        return np.clip(np.interp(np.asarray(score, dtype=np.float64), xs, ps), 0.0, 1.0)

    def _knots(self) -> tuple[np.ndarray, np.ndarray]:
        """Interpolation knots with ties turned into a step: (v, first p) then (v⁺, last p)."""
        values = np.asarray(self.values)
        probs = np.asarray(self.probabilities)
        xs: list[float] = []
        ps: list[float] = []
        for value in np.unique(values):
            tied = probs[values == value]
            xs.append(float(value))
            ps.append(float(tied.min()))
            if tied.max() > tied.min():
                xs.append(float(np.nextafter(value, np.inf)))
                ps.append(float(tied.max()))
        return np.asarray(xs), np.asarray(ps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored with the run)."""
        return {
            "version": CALIBRATION_VERSION,
            "score": "csls",
            "probabilities": list(self.probabilities),
            "values": list(self.values),
            "n_pairs": self.n_pairs,
            "n_members": self.n_members,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`; rejects unknown versions."""
        if data.get("version") != CALIBRATION_VERSION:
            raise ValueError(f"unsupported calibration version {data.get('version')!r}")
        probabilities = tuple(float(p) for p in data["probabilities"])
        values = tuple(float(v) for v in data["values"])
        if len(probabilities) != len(values) or list(values) != sorted(values):
            raise ValueError("calibration quantiles are malformed")
        return cls(probabilities, values, int(data["n_pairs"]), int(data["n_members"]))


def sample_pairs(n_members: int, n_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All distinct pairs when few, else ``n_pairs`` random distinct pairs (deterministic)."""
    if n_members * (n_members - 1) // 2 <= n_pairs:
        left, right = np.triu_indices(n_members, k=1)
        return left.astype(np.int64), right.astype(np.int64)
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n_members, n_pairs)
    right = (left + rng.integers(1, n_members, n_pairs)) % n_members
    return left, right
