"""Reasons for millions of pairs at once, in the compact form a recluster stores.

:func:`pair_reasons` costs ~0.2 ms a pair in Python; a recluster of 100k members stores millions
of matches, so it computes every pair's shared items with sparse element-wise products of the
pairs' rows (in chunks) and picks each pair's strongest items with one sort over the products.

What is stored is compact JSON, one string per pair, built with vectorised string operations:
``{"v":3,"a":[["id",rank_a,rank_b],…],"t":[…],"g":[…],"x":[closest,farthest,a_c,b_c,a_f,b_f]}``
— item ids without names (the catalogue has them: :func:`expand_reasons` adds them back when a
match is read), audio as feature indices and natural-unit means in thousandths (``"x":null``
without audio). "a" is the first member of the pair as it was computed: a recluster computes each
unordered pair once and stores it for both members, so readers say which side they are on.
Items keep :func:`pair_reasons`' order (strongest contribution first, ties by column) and at
most :data:`STORED_SHARED` per list — what a match shows.
Version 2 (means as floats, always from the reader's side) is still read: older runs hold it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundsync_core.taste.audio import FEATURE_RANGES, AudioView
from soundsync_core.taste.similarity import TasteVectors
from soundsync_core.taste.vectors import ItemView

COMPACT_VERSION = 3
READABLE_VERSIONS = (2, 3)
# Shared items stored per list: a match shows six (bot/render.py); /compare computes its own.
STORED_SHARED = 6
# Compact key → (full key, names view) for the shared-item lists.
SHARED_KEYS: dict[str, tuple[str, str | None]] = {
    "a": ("shared_artists", "artists"),
    "t": ("shared_tracks", "tracks"),
    "g": ("shared_genres", None),
}
_VIEW_OF = {"a": "artists", "t": "tracks", "g": "genres"}
PAIRS_PER_CHUNK = 200_000


@dataclass(frozen=True)
class SharedTable:
    """Each pair's strongest shared items: flat columns sorted by pair, then strength."""

    pair: np.ndarray
    col: np.ndarray
    rank_a: np.ndarray
    rank_b: np.ndarray
    contribution: np.ndarray


def shared_table(
    view: ItemView, left: np.ndarray, right: np.ndarray, *, limit: int = STORED_SHARED
) -> SharedTable:
    """Up to ``limit`` shared items of each pair ``(left[k], right[k])``, ordered as in :mod:`reasons`."""
    matrix, ranks = _canonical(view.matrix), _canonical(view.ranks)
    parts = [
        _shared_chunk(matrix, ranks, left[start : start + PAIRS_PER_CHUNK],
                      right[start : start + PAIRS_PER_CHUNK], start, limit)
        for start in range(0, len(left), PAIRS_PER_CHUNK)
    ]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return SharedTable(empty, empty, empty, empty, np.zeros(0, dtype=np.float32))
    return SharedTable(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _canonical(matrix: sp.csr_matrix) -> sp.csr_matrix:
    # Element-wise products of canonical rows come out canonical, so the three products of a
    # chunk (weights, rank a, rank b) line up entry for entry.
    if matrix.has_canonical_format:
        return matrix
    matrix = matrix.copy()
    matrix.sum_duplicates()
    return matrix


def _shared_chunk(
    matrix: sp.csr_matrix, ranks: sp.csr_matrix, left: np.ndarray, right: np.ndarray,
    offset: int, limit: int,
) -> tuple[np.ndarray, ...]:
    product = sp.csr_matrix(matrix[left].multiply(matrix[right]))
    pattern = product.copy()
    pattern.data = np.ones_like(pattern.data)
    rank_a = sp.csr_matrix(ranks[left].multiply(pattern))
    rank_b = sp.csr_matrix(ranks[right].multiply(pattern))
    for part in (product, rank_a, rank_b):
        part.sort_indices()
    row = np.repeat(np.arange(len(left), dtype=np.int64), np.diff(product.indptr))
    # Strongest first within a pair; equal contributions keep column order (stable sort of
    # canonical rows). A positive float32's bits order like its value, so one int64 key holds
    # the pair and the descending contribution.
    strength = product.data.astype(np.float32).view(np.uint32).astype(np.int64)
    order = np.argsort((row << 32) | (0xFFFFFFFF - strength), kind="stable")
    position = np.arange(len(order)) - product.indptr[row[order]]
    keep = order[position < limit]
    return (row[keep] + offset, product.indices[keep].astype(np.int64),
            rank_a.data[keep].astype(np.int64), rank_b.data[keep].astype(np.int64),
            product.data[keep])


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


def compact_reasons(
    vectors: TasteVectors, left: np.ndarray, right: np.ndarray, *, limit: int = STORED_SHARED
) -> list[str]:
    """The compact JSON reasons of every pair ``(left[k], right[k])``, one string per pair."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    lists = {}
    for key, view_name in _VIEW_OF.items():
        view = vectors.items[view_name]
        lists[key] = _item_lists(view, shared_table(view, left, right, limit=limit), len(left))
    audio = _audio_text(audio_table(vectors.audio, left, right))
    head = '{"v":' + str(COMPACT_VERSION)
    return [
        f'{head},"a":[{a}],"t":[{t}],"g":[{g}],"x":{x}}}'
        for a, t, g, x in zip(lists["a"], lists["t"], lists["g"], audio, strict=True)
    ]


_TEXT = np.dtypes.StringDType()


def _item_lists(view: ItemView, table: SharedTable, n_pairs: int) -> list[str]:
    """Per pair, the comma-joined ``["id",rank_a,rank_b]`` entries (empty when none).

    Each distinct item and rank pair is formatted once; the entries are put together with
    numpy's string ufuncs, joined into one text and cut back into one slice per pair.
    """
    if len(table.pair) == 0:
        return [""] * n_pairs
    items, item_at = np.unique(table.col, return_inverse=True)
    heads = np.array(
        ["[" + json.dumps(str(view.ids[c]), ensure_ascii=False) + "," for c in items.tolist()],
        dtype=_TEXT,
    )
    codes, code_at = np.unique(table.rank_a * 65536 + table.rank_b, return_inverse=True)
    last = np.append(table.pair[1:] != table.pair[:-1], True)
    tails = np.array([f"{code >> 16},{code & 0xFFFF}]" for code in codes.tolist()], dtype=_TEXT)
    entries = np.strings.add(heads[item_at], tails[code_at])
    entries = np.where(last, entries, np.strings.add(entries, ","))
    text = "".join(entries.tolist())
    ends = np.cumsum(np.strings.str_len(entries))
    # Character offsets of each pair's first and past-the-end entry (pairs without any: empty).
    first = np.searchsorted(table.pair, np.arange(n_pairs), side="left")
    after = np.searchsorted(table.pair, np.arange(n_pairs), side="right")
    ends = np.concatenate([[0], ends])
    return [text[s:e] for s, e in zip(ends[first].tolist(), ends[after].tolist(), strict=True)]


def _audio_text(table: AudioTable) -> list[str]:
    """``[closest,farthest,a_c,b_c,a_f,b_f]`` (means in thousandths) or ``null`` per pair."""
    out = np.full(len(table.closest), "null", dtype=_TEXT)
    usable = np.flatnonzero(table.closest >= 0)
    if len(usable):
        milli = np.rint(np.hstack([table.means_a[usable], table.means_b[usable]]) * 1000).astype(np.int64)
        columns = (table.closest[usable], table.farthest[usable],
                   milli[:, 0], milli[:, 2], milli[:, 1], milli[:, 3])
        text = np.full(len(usable), "[", dtype=_TEXT)
        for k, column in enumerate(columns):
            text = np.strings.add(text, column.astype(_TEXT))
            text = np.strings.add(text, "," if k < len(columns) - 1 else "]")
        out[usable] = text
    return out.tolist()


def is_compact(reasons: Any) -> bool:
    """Whether stored reasons are in a compact form (older runs stored the full form)."""
    return isinstance(reasons, dict) and reasons.get("v") in READABLE_VERSIONS


def item_ids(reasons: Mapping[str, Any], key: str) -> list[str]:
    """Item ids of one compact shared list (``"a"`` artists or ``"t"`` tracks)."""
    return [entry[0] for entry in reasons.get(key) or ()]


def expand_reasons(
    reasons: Mapping[str, Any],
    names: Mapping[str, Mapping[str, str]],
    features: tuple[str, ...],
    *,
    reader_is_b: bool = False,
) -> dict[str, Any]:
    """The full :func:`pair_reasons` shape (without contributions) of compact stored reasons,
    seen from the reader's side: ``reader_is_b`` when the reader is the pair's second member
    (version 3; version 2 was always stored from the reader's side)."""
    swap = reader_is_b and reasons.get("v") == COMPACT_VERSION
    out: dict[str, Any] = {}
    for key, (full, names_view) in SHARED_KEYS.items():
        known = names.get(names_view, {}) if names_view else {}
        out[full] = [
            {"id": item, "name": known.get(item, item),
             "rank_a": int(rank_b if swap else rank_a), "rank_b": int(rank_a if swap else rank_b)}
            for item, rank_a, rank_b in reasons.get(key) or ()
        ]
    out["audio"] = _expand_audio(reasons.get("x"), features, swap,
                                 1000.0 if reasons.get("v") == COMPACT_VERSION else 1.0)
    return out


def _expand_audio(
    audio: list[float] | None, features: tuple[str, ...], swap: bool, scale: float
) -> dict[str, Any] | None:
    if not audio:
        return None
    closest, farthest, a_c, b_c, a_f, b_f = audio
    if swap:
        a_c, b_c, a_f, b_f = b_c, a_c, b_f, a_f
    return {"closest": _feature(features[int(closest)], a_c / scale, b_c / scale),
            "farthest": _feature(features[int(farthest)], a_f / scale, b_f / scale)}


def _feature(name: str, a: float, b: float) -> dict[str, Any]:
    return {"feature": name, "a": round(float(a), 3), "b": round(float(b), 3)}
