"""The audio view: an order-independent summary of a member's tracks' audio features.

The seed concatenated "song 1 features, song 2 features …", so the same songs in another order
looked like another taste. Here a member is summarised by the rank-weighted **mean** and
**spread** (weighted standard deviation) of each feature over the tracks that have it — a set
statistic, so track order cannot matter. Loudness (dB, ≈ −60…0) and tempo (BPM) are first mapped
to 0…1 so no feature dominates by its unit; then every summary column is standardised over the
population (z-scores), spreads are damped (they are noisier than means), and rows are
L2-normalised. A member without any feature has **no** audio view (never zeros posing as data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from soundsync_core.taste.profile import AUDIO_FEATURES, ProfileTable, TasteProfile, as_table
from soundsync_core.taste.vectors import count_factors, rank_weights

# Natural range of the features that are not already 0…1, mapped linearly onto 0…1.
FEATURE_RANGES: dict[str, tuple[float, float]] = {"loudness": (-60.0, 0.0), "tempo": (40.0, 220.0)}
SPREAD_DAMPING = 0.5
# Standardising over fewer members than this is noise, so the view is dropped for everyone.
MIN_MEMBERS_WITH_AUDIO = 3


@dataclass(frozen=True)
class AudioView:
    """Standardised, L2-normalised audio summaries plus the natural-unit means for reasons."""

    vectors: np.ndarray  # members × (2 · features), float32, rows of absent members are 0
    present: np.ndarray  # bool per member
    natural_means: np.ndarray  # members × features in natural units (dB, BPM, 0…1), NaN = unknown
    features: tuple[str, ...] = AUDIO_FEATURES


def to_unit(feature: str, value: float) -> float:
    """Map a feature value to 0…1 (loudness and tempo by their natural range, others clipped)."""
    low, high = FEATURE_RANGES.get(feature, (0.0, 1.0))
    return float(min(max((value - low) / (high - low), 0.0), 1.0))


def summarise(profile: TasteProfile) -> tuple[np.ndarray, np.ndarray]:
    """Return (unit-scaled summary of length 2·F with NaN gaps, natural-unit means of length F)."""
    summaries, natural = summarise_all([profile])
    return summaries[0], natural[0]


def summarise_all(members: ProfileTable | Sequence[TasteProfile]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`summarise` for every member at once (members × 2·F, members × F; NaN = unknown).

    Every listed track (all of them: no deduplication, no cap) weighs its rank weight times
    its count factor among the member's tracks; the weighted moments are grouped sums over one
    table of every member's tracks that have a feature, so 100k members cost a few numpy passes.
    """
    table = as_table(members)
    owner, weights, natural = _track_table(table)
    low = np.array([FEATURE_RANGES.get(f, (0.0, 1.0))[0] for f in AUDIO_FEATURES])
    high = np.array([FEATURE_RANGES.get(f, (0.0, 1.0))[1] for f in AUDIO_FEATURES])
    unit = np.clip((natural - low) / (high - low), 0.0, 1.0)
    mean, spread = _grouped_moments(unit, weights, owner, len(table))
    natural_mean, _ = _grouped_moments(natural, weights, owner, len(table))
    return np.concatenate([mean, spread], axis=1), natural_mean


def _track_table(table: ProfileTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(member row, rank × count weight, natural feature values) of every track with features."""
    tracks = table.tracks
    weights = rank_weights(tracks.rank) * count_factors(tracks.member, tracks.count, len(table))
    known = ~np.isnan(table.track_features).all(axis=1)
    rows = np.flatnonzero(known[tracks.item])
    return tracks.member[rows], weights[rows], table.track_features[tracks.item[rows]]


def _grouped_moments(
    values: np.ndarray, weights: np.ndarray, owner: np.ndarray, n_members: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per member and column: weighted mean and standard deviation ignoring NaNs (NaN if none).

    The grouped sums are one sparse product (members × rows, ones) for every column at once;
    each member's rows are added in table order, as a running sum would.
    """
    known = ~np.isnan(values)
    w = np.where(known, weights[:, None], 0.0)
    filled = np.where(known, values, 0.0)
    group = sp.csr_matrix(
        (np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(n_members, len(owner))
    )
    total = group @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = (group @ (w * filled)) / total
        var = (group @ (w * (filled - mu[owner]) ** 2)) / total
    has = total > 0
    return np.where(has, mu, np.nan), np.where(has, np.sqrt(np.where(has, var, 0.0)), np.nan)


def build_audio_view(members: ProfileTable | Sequence[TasteProfile]) -> AudioView:
    """Summarise every member, standardise over the population and L2-normalise."""
    n_feat = len(AUDIO_FEATURES)
    summaries, natural = summarise_all(members)
    present = ~np.all(np.isnan(summaries[:, :n_feat]), axis=1)
    if present.sum() < MIN_MEMBERS_WITH_AUDIO:
        present[:] = False
    vectors = _standardise(summaries, present)
    vectors[:, n_feat:] *= SPREAD_DAMPING
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return AudioView(vectors.astype(np.float32), present, natural)


def _standardise(summaries: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Z-score every column over the members that have it; unknown entries become 0 (= mean)."""
    out = np.zeros_like(summaries)
    if not present.any():
        return out
    block = summaries[present]
    with np.errstate(invalid="ignore"):
        mu = np.nanmean(np.where(np.isnan(block).all(axis=0), 0.0, block), axis=0)
        sigma = np.nanstd(np.where(np.isnan(block).all(axis=0), 0.0, block), axis=0)
    z = np.divide(block - mu, sigma, out=np.zeros_like(block), where=sigma > 1e-9)
    out[present] = np.nan_to_num(z, nan=0.0)
    return out
