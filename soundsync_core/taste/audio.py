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

from soundsync_core.taste.profile import AUDIO_FEATURES, TasteProfile
from soundsync_core.taste.vectors import count_factors, rank_weight

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
    n_feat = len(AUDIO_FEATURES)
    values = np.full((len(profile.tracks), n_feat), np.nan)
    natural = np.full((len(profile.tracks), n_feat), np.nan)
    for row, track in enumerate(profile.tracks):
        for col, feature in enumerate(AUDIO_FEATURES):
            value = (track.audio_features or {}).get(feature)
            if value is not None and np.isfinite(value):
                natural[row, col] = value
                values[row, col] = to_unit(feature, value)
    factors = count_factors([t.playcount for t in profile.tracks])
    weights = np.array([rank_weight(t.rank) * f for t, f in zip(profile.tracks, factors, strict=True)])
    mean, spread = _weighted_moments(values, weights)
    natural_mean, _ = _weighted_moments(natural, weights)
    return np.concatenate([mean, spread]), natural_mean


def _weighted_moments(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column weighted mean and standard deviation, ignoring NaNs (NaN where no value)."""
    known = ~np.isnan(values)
    w = np.where(known, weights[:, None], 0.0) if len(values) else np.zeros_like(values)
    total = w.sum(axis=0)
    filled = np.where(known, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * filled).sum(axis=0) / total
        var = (w * (filled - mean) ** 2).sum(axis=0) / total
    mean = np.where(total > 0, mean, np.nan)
    return mean, np.sqrt(np.where(total > 0, var, np.nan))


def build_audio_view(profiles: Sequence[TasteProfile]) -> AudioView:
    """Summarise every member, standardise over the population and L2-normalise."""
    n_feat = len(AUDIO_FEATURES)
    summaries = np.full((len(profiles), 2 * n_feat), np.nan)
    natural = np.full((len(profiles), n_feat), np.nan)
    for row, profile in enumerate(profiles):
        if any(t.audio_features for t in profile.tracks):
            summaries[row], natural[row] = summarise(profile)
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
