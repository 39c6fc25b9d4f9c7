"""The engine's previous scoring, kept as a benchmark row: IDF-weighted cosines + CSLS.

Until issue #11 SoundSync scored a pair by per-view cosines of ``rank weight × damped count``
vectors (``log1p(plays) / log1p(member's top plays)``), weighted by smooth IDF
``ln((N + 1) / (df + 1)) + 1`` and L2-normalised per view, combined over the views both
members have (chance level removed from genres and audio), then corrected for hubs with CSLS
(``2·raw − r_i − r_j``, ``r`` = mean score of a member's 10 nearest). This module rebuilds that
score member by member (small benchmark communities only: it holds an n × n matrix) so
``soundsync bench quality`` shows the change beside the new scoring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from soundsync_core.taste.audio import build_audio_view
from soundsync_core.taste.profile import TasteProfile
from soundsync_core.taste.similarity import VIEW_WEIGHTS

HUB_NEIGHBOURS = 10
MAX_ITEMS = 500


def _weighted(items: Sequence[tuple[str, int, int | None]]) -> dict[str, float]:
    """Best rank per id, capped; weight = DCG rank weight × damped count factor."""
    best: dict[str, tuple[int, int | None]] = {}
    for item, rank, count in sorted(items, key=lambda x: x[1]):
        best.setdefault(item, (rank, count))
    kept = list(best.items())[:MAX_ITEMS]
    counts = [c for _, (_, c) in kept if c and c > 0]
    top = max(counts, default=0)
    factors = {i: math.log1p(c) / math.log1p(top) for i, (_, c) in kept if c and c > 0}
    fill = float(np.mean(list(factors.values()))) if factors else 1.0
    return {i: factors.get(i, fill) / math.log2(max(r, 1) + 1) for i, (r, _) in kept}


def _member_views(p: TasteProfile) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    artists = _weighted([(a.id, a.rank, a.playcount) for a in p.artists])
    tracks = _weighted([(t.id, t.rank, t.playcount) for t in p.tracks])
    genres: dict[str, float] = {}
    for a in {a.id: a for a in sorted(p.artists, key=lambda a: -a.rank)}.values():
        for g in a.genres:
            genres[g] = genres.get(g, 0.0) + artists.get(a.id, 0.0)
    if not artists:
        derived: dict[str, float] = {}
        for t in p.tracks:
            for a in t.artist_ids:
                derived[a] = derived.get(a, 0.0) + tracks.get(t.id, 0.0)
        artists = derived
    return artists, tracks, genres


def _cosines(rows: list[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(n × n cosine matrix of IDF-weighted rows, which members have the view)."""
    columns: dict[str, int] = {}
    r, c, v = [], [], []
    for i, row in enumerate(rows):
        for item, w in row.items():
            r.append(i)
            c.append(columns.setdefault(item, len(columns)))
            v.append(w)
    matrix = sp.csr_matrix((v, (r, c)), shape=(len(rows), max(len(columns), 1)))
    present = np.diff(matrix.indptr) > 0
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    matrix = matrix @ sp.diags(np.log((present.sum() + 1.0) / (df + 1.0)) + 1.0)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix
    return (matrix @ matrix.T).toarray(), present


def legacy_scores(profiles: Sequence[TasteProfile]) -> np.ndarray:
    """The previous engine's CSLS-corrected score of every pair (n × n)."""
    views = [_member_views(p) for p in profiles]
    names = ("artists", "tracks", "genres")
    per_view = {name: _cosines([v[k] for v in views]) for k, name in enumerate(names)}
    audio = build_audio_view(profiles)
    per_view["audio"] = (audio.vectors.astype(float) @ audio.vectors.T.astype(float), audio.present)
    num = np.zeros((len(profiles), len(profiles)))
    den = np.zeros_like(num)
    for name, (score, present) in per_view.items():
        both = np.outer(present, present)
        off = both & ~np.eye(len(profiles), dtype=bool)
        chance = float(score[off].mean()) if name in ("genres", "audio") and off.any() else 0.0
        num += np.where(both, VIEW_WEIGHTS[name] * (score - chance), 0.0)
        den += np.where(both, VIEW_WEIGHTS[name], 0.0)
    raw = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    others = raw.copy()
    np.fill_diagonal(others, -np.inf)
    k = min(HUB_NEIGHBOURS, len(profiles) - 1)
    radius = -np.sort(-others, axis=1)[:, :k].mean(axis=1) if k > 0 else np.zeros(len(profiles))
    return 2.0 * raw - radius[:, None] - radius[None, :]


def legacy_engine(profiles: Sequence[TasteProfile], k: int) -> dict[int, list[int]]:
    """Top ``k`` others of every member by the previous engine's score (ties by position)."""
    scores = legacy_scores(profiles)
    np.fill_diagonal(scores, -np.inf)
    ids = [p.user_id for p in profiles]
    take = min(k, len(profiles) - 1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :take]
    return {ids[i]: [ids[j] for j in order[i]] for i in range(len(ids))}
