"""Reasons for millions of pairs at once, in the packed binary form a recluster stores.

:func:`pair_reasons` costs ~0.2 ms a pair in Python; a recluster of 100k members stores millions
of matches, so each pair's strongest shared items come from one compiled pass over the pair's
rows (:mod:`kernels`).

What is stored per pair is a fixed-size record (:data:`PACKED`, 165 bytes) filled with numpy
alone — no Python object per pair or per item: for artists, tracks and genres the column
numbers of up to :data:`STORED_SHARED` shared items (the run's own item numbering; the run
stores which item each column is) with both members' ranks, and the closest and farthest audio
feature with both members' means in thousandths. "a" is the first member of the pair as
computed: a recluster computes each unordered pair once and stores it for both members, so
readers say which side they are on. :func:`expand_packed` gives the full :func:`pair_reasons`
shape back. Items keep :func:`pair_reasons`' order (strongest contribution first, ties by column).

Runs made before the packed form stored compact JSON (version 2, from the reader's side):
:func:`expand_reasons` still reads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundsync_core.taste.audio import FEATURE_RANGES, AudioView
from soundsync_core.taste.kernels import top_shared
from soundsync_core.taste.similarity import TasteVectors
from soundsync_core.taste.vectors import ItemView

COMPACT_VERSION = 2  # the JSON form of older runs
PACKED_VERSION = 4
# Shared items stored per list: a match shows six (bot/render.py); /compare computes its own.
STORED_SHARED = 6
# Compact key → (full key, names view) for the shared-item lists.
SHARED_KEYS: dict[str, tuple[str, str | None]] = {
    "a": ("shared_artists", "artists"),
    "t": ("shared_tracks", "tracks"),
    "g": ("shared_genres", None),
}
VIEW_OF = {"a": "artists", "t": "tracks", "g": "genres"}
# The views' numbers in the run's item table (``run_items.view``).
VIEW_NUMBER = {"artists": 0, "tracks": 1, "genres": 2}
# One pair's reasons: per view, columns (-1 = empty slot) and both ranks; audio feature indices
# (-1 = no audio) and means in thousandths (closest a, closest b, farthest a, farthest b).
PACKED = np.dtype(
    [("version", "u1")]
    + [field for key in SHARED_KEYS for field in (
        (f"{key}_col", "<i4", (STORED_SHARED,)),
        (f"{key}_rank_a", "<i2", (STORED_SHARED,)),
        (f"{key}_rank_b", "<i2", (STORED_SHARED,)),
    )]
    + [("x_feature", "<i2", (2,)), ("x_milli", "<i4", (4,))]
)


def _shared_items(view: ItemView, left: np.ndarray, right: np.ndarray, out: np.ndarray, key: str) -> None:
    """Fill ``out``'s ``key`` columns and ranks with each pair's strongest shared items."""
    matrix, ranks = view.matrix, view.ranks
    if not matrix.has_canonical_format:
        # Sorting both the same way keeps ranks on their weights' pattern.
        matrix, ranks = matrix.copy(), ranks.copy()
        matrix.sum_duplicates()
        ranks.sum_duplicates()
    out[f"{key}_col"] = -1
    # Straight into the records' fields (strided views): no table per view to copy over.
    top_shared(matrix.indptr, matrix.indices, matrix.data, ranks.data, matrix.shape[1],
               left, right, out[f"{key}_col"], out[f"{key}_rank_a"], out[f"{key}_rank_b"])


@dataclass(frozen=True)
class AudioTable:
    """Closest and farthest feature of every pair (``-1`` without audio) and both natural means."""

    closest: np.ndarray
    farthest: np.ndarray
    means_a: np.ndarray  # pairs × 2 (closest, farthest), natural units
    means_b: np.ndarray


def audio_table(audio: AudioView, left: np.ndarray, right: np.ndarray) -> AudioTable:
    """:func:`audio_extremes` for every pair at once."""
    a, b = audio.natural_means[left], audio.natural_means[right]
    gaps = np.abs(_to_unit(audio.features, a) - _to_unit(audio.features, b))
    known = np.isfinite(gaps) & (audio.present[left] & audio.present[right])[:, None]
    usable = known.any(axis=1)
    closest = np.argmin(np.where(known, gaps, np.inf), axis=1)
    farthest = np.argmax(np.where(known, gaps, -np.inf), axis=1)
    closest, farthest = np.where(usable, closest, -1), np.where(usable, farthest, -1)
    rows = np.arange(len(left))
    pick = np.stack([np.maximum(closest, 0), np.maximum(farthest, 0)], axis=1)
    return AudioTable(closest, farthest, a[rows[:, None], pick], b[rows[:, None], pick])


def _to_unit(features: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """:func:`audio.to_unit` per column (NaN stays NaN)."""
    low = np.array([FEATURE_RANGES.get(f, (0.0, 1.0))[0] for f in features])
    high = np.array([FEATURE_RANGES.get(f, (0.0, 1.0))[1] for f in features])
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def pack_reasons(vectors: TasteVectors, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The :data:`PACKED` reasons of every pair ``(left[k], right[k])`` ("a" = ``left``)."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    out = np.zeros(len(left), dtype=PACKED)
    out["version"] = PACKED_VERSION
    for key, view_name in VIEW_OF.items():
        _shared_items(vectors.items[view_name], left, right, out, key)
    _audio_reasons(vectors.audio, left, right, out)
    return out


def _audio_reasons(audio: AudioView, left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out``'s audio fields: computed only for pairs where both members have audio."""
    out["x_feature"] = -1
    both = np.flatnonzero(audio.present[left] & audio.present[right])
    table = audio_table(audio, left[both], right[both])
    usable = table.closest >= 0
    rows = both[usable]
    out["x_feature"][rows] = np.stack([table.closest, table.farthest], axis=1)[usable]
    means = np.stack([table.means_a[:, 0], table.means_b[:, 0], table.means_a[:, 1],
                      table.means_b[:, 1]], axis=1)[usable]
    out["x_milli"][rows] = np.rint(np.nan_to_num(means) * 1000).astype(np.int32)


def swap_sides(records: np.ndarray, where: np.ndarray) -> None:
    """Make "b" the "a" side (and "a" the "b" side) of the ``where`` records, in place: the
    shared items and features stay, both members' ranks and means trade places."""
    chosen = records[where]
    for key in SHARED_KEYS:
        chosen[f"{key}_rank_a"], chosen[f"{key}_rank_b"] = (
            chosen[f"{key}_rank_b"].copy(), chosen[f"{key}_rank_a"].copy())
    chosen["x_milli"] = chosen["x_milli"][:, [1, 0, 3, 2]]
    records[where] = chosen


# A stored PACKED record's fields as Python ints and lists (see :func:`unpack`).
PackedRecord = dict[str, Any]


def unpack(blobs: Sequence[bytes]) -> list[PackedRecord]:
    """Stored :data:`PACKED` records (a page of them), as Python values: one numpy pass per
    field for the whole page, not a numpy scalar per item read (a tenth of the CPU of a
    ``/matches`` read went to reading fields of ``np.void`` records one by one)."""
    for blob in blobs:
        if len(blob) != PACKED.itemsize:
            raise ValueError(f"a packed reasons record is {PACKED.itemsize} bytes, not {len(blob)}")
    records = np.frombuffer(b"".join(blobs), dtype=PACKED)
    fields = {name: records[name].tolist() for name in PACKED.names}
    return [{name: values[k] for name, values in fields.items()} for k in range(len(records))]


def packed_columns(record: PackedRecord) -> list[tuple[int, int]]:
    """``(view number, column)`` of every item a packed record names."""
    return [
        (VIEW_NUMBER[VIEW_OF[key]], col)
        for key in ("a", "t", "g")
        for col in record[f"{key}_col"] if col >= 0
    ]


def expand_packed(
    record: PackedRecord,
    items: Mapping[tuple[int, int], tuple[str, str]],
    features: tuple[str, ...],
    *,
    reader_is_b: bool = False,
) -> dict[str, Any]:
    """The full :func:`pair_reasons` shape (without contributions) of a packed record, seen from
    the reader's side; ``items`` maps ``(view number, column)`` → ``(item id, display name)``."""
    out: dict[str, Any] = {}
    for key, (full, _) in SHARED_KEYS.items():
        view = VIEW_NUMBER[VIEW_OF[key]]
        ranks_a, ranks_b = record[f"{key}_rank_a"], record[f"{key}_rank_b"]
        if reader_is_b:
            ranks_a, ranks_b = ranks_b, ranks_a
        out[full] = []
        for col, rank_a, rank_b in zip(record[f"{key}_col"], ranks_a, ranks_b, strict=True):
            if col < 0:
                break
            item, name = items.get((view, col), (str(col), str(col)))
            out[full].append({"id": item, "name": name, "rank_a": rank_a, "rank_b": rank_b})
    closest, farthest = record["x_feature"]
    if closest < 0:
        out["audio"] = None
        return out
    a_c, b_c, a_f, b_f = (v / 1000 for v in record["x_milli"])
    if reader_is_b:
        a_c, b_c, a_f, b_f = b_c, a_c, b_f, a_f
    out["audio"] = {"closest": _feature(features[closest], a_c, b_c),
                    "farthest": _feature(features[farthest], a_f, b_f)}
    return out


def is_compact(reasons: Any) -> bool:
    """Whether stored JSON reasons are in the compact form (older runs stored the full form)."""
    return isinstance(reasons, dict) and reasons.get("v") == COMPACT_VERSION


def item_ids(reasons: Mapping[str, Any], key: str) -> list[str]:
    """Item ids of one compact shared list (``"a"`` artists or ``"t"`` tracks)."""
    return [entry[0] for entry in reasons.get(key) or ()]


def expand_reasons(
    reasons: Mapping[str, Any], names: Mapping[str, Mapping[str, str]], features: tuple[str, ...]
) -> dict[str, Any]:
    """The full :func:`pair_reasons` shape (without contributions) of compact JSON reasons."""
    out: dict[str, Any] = {}
    for key, (full, names_view) in SHARED_KEYS.items():
        known = names.get(names_view, {}) if names_view else {}
        out[full] = [
            {"id": item, "name": known.get(item, item), "rank_a": int(rank_a), "rank_b": int(rank_b)}
            for item, rank_a, rank_b in reasons.get(key) or ()
        ]
    out["audio"] = _expand_audio(reasons.get("x"), features)
    return out


def _expand_audio(audio: list[float] | None, features: tuple[str, ...]) -> dict[str, Any] | None:
    if not audio:
        return None
    closest, farthest, a_c, b_c, a_f, b_f = audio
    return {"closest": _feature(features[int(closest)], a_c, b_c),
            "farthest": _feature(features[int(farthest)], a_f, b_f)}


def _feature(name: str, a: float, b: float) -> dict[str, Any]:
    return {"feature": name, "a": round(float(a), 3), "b": round(float(b), 3)}
