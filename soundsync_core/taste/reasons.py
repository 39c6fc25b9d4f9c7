"""Why two members match: shared artists/tracks/genres with both ranks, and audio extremes.

Shared items are sorted by their contribution to the view's cosine — the product of both
members' IDF-weighted, normalised weights — so a rare artist both rank highly comes first and
an artist everybody lists comes last. All values are plain JSON types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from soundsync_core.taste.audio import to_unit
from soundsync_core.taste.similarity import TasteVectors
from soundsync_core.taste.vectors import ItemView

MAX_SHARED = 10


def pair_reasons(
    vectors: TasteVectors,
    i: int,
    j: int,
    names: Mapping[str, Mapping[str, str]],
    *,
    limit: int = MAX_SHARED,
) -> dict[str, Any]:
    """Reasons for the pair (i, j); ``names`` maps view → item id → display name."""
    return {
        "shared_artists": shared_items(vectors.items["artists"], i, j, names.get("artists", {}), limit),
        "shared_tracks": shared_items(vectors.items["tracks"], i, j, names.get("tracks", {}), limit),
        "shared_genres": shared_items(vectors.items["genres"], i, j, {}, limit),
        "audio": audio_extremes(vectors, i, j),
    }


def shared_items(
    view: ItemView, i: int, j: int, names: Mapping[str, str], limit: int
) -> list[dict[str, Any]]:
    """Items both members have, strongest contribution first, with both members' ranks."""
    cols_i, weights_i, ranks_i = _row(view, i)
    cols_j, weights_j, ranks_j = _row(view, j)
    common, at_i, at_j = np.intersect1d(cols_i, cols_j, assume_unique=True, return_indices=True)
    contribution = weights_i[at_i] * weights_j[at_j]
    order = np.argsort(-contribution, kind="stable")[:limit]
    out = []
    for k in order:
        item = str(view.ids[common[k]])
        out.append(
            {
                "id": item,
                "name": names.get(item, item),
                "rank_a": int(ranks_i[at_i[k]]),
                "rank_b": int(ranks_j[at_j[k]]),
                "contribution": round(float(contribution[k]), 6),
            }
        )
    return out


def _row(view: ItemView, member: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column ids, normalised weights and ranks of one member's row (same sparsity pattern)."""
    start, end = view.matrix.indptr[member], view.matrix.indptr[member + 1]
    rank_start, rank_end = view.ranks.indptr[member], view.ranks.indptr[member + 1]
    rank_of = dict(
        zip(
            view.ranks.indices[rank_start:rank_end],
            view.ranks.data[rank_start:rank_end],
            strict=True,
        )
    )
    cols = view.matrix.indices[start:end]
    ranks = np.array([rank_of[c] for c in cols], dtype=np.int64)
    return cols, view.matrix.data[start:end], ranks


def audio_extremes(vectors: TasteVectors, i: int, j: int) -> dict[str, Any] | None:
    """Closest and farthest audio feature (natural units), or None unless both have audio."""
    audio = vectors.audio
    if not (audio.present[i] and audio.present[j]):
        return None
    a, b = audio.natural_means[i], audio.natural_means[j]
    known = [k for k in range(len(audio.features)) if np.isfinite(a[k]) and np.isfinite(b[k])]
    if not known:
        return None
    gaps = [abs(to_unit(audio.features[k], a[k]) - to_unit(audio.features[k], b[k])) for k in known]
    closest, farthest = known[int(np.argmin(gaps))], known[int(np.argmax(gaps))]
    return {
        "closest": _feature(audio.features[closest], a[closest], b[closest]),
        "farthest": _feature(audio.features[farthest], a[farthest], b[farthest]),
    }


def _feature(name: str, a: float, b: float) -> dict[str, Any]:
    return {"feature": name, "a": round(float(a), 3), "b": round(float(b), 3)}
