"""Compatibility: per-view scores combined over the views both members have.

``raw(i, j) = Σ_v w_v · (s_v(i, j) − b_v) / Σ_v w_v`` where *v* runs over the views **both**
members have. ``s_v`` is the view's inner product of rarity-weighted, per-member normalised
vectors (:mod:`vectors`; the audio view, a dense summary, is a cosine), each view on one
common scale (a typical member's score with an identical twin is 1).

Renormalising over shared views compares an artists-only member fairly with a
member who also has tracks, genres and audio: a view one side lacks is "unknown", not "different".

``b_v`` is the view's chance level — the mean score of random pairs that both have it. It is 0
for the sparse item views (random members rarely share an artist) and is kept at 0 there so that
for two artists-only members the raw score *is* their artist score. Genres and audio are dense
and coarse: two random members often share "rock", so without removing ``b_v`` a genre-tagged
pair would look closer than an untagged one merely for having tags.

Weights: artists are the strongest, most reliable signal; tracks are finer but much sparser
(sharing one is strong evidence, not sharing one is weak); genres are coarse and audio coarser.
Every step is symmetric, so ``raw(i, j) == raw(j, i)``. There is no hub correction: with no
division by the candidate's norm a "hub" listing every popular artist gains little from them
(``df ** -0.6`` is small), and a correction by each member's neighbourhood (CSLS) gave members who
share nothing with anybody a zero radius that put them in hundreds of top-10 lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from soundsync_core.taste.audio import AudioView, build_audio_view
from soundsync_core.taste.profile import ProfileTable, TasteProfile, as_table
from soundsync_core.taste.vectors import ItemView, build_item_views

VIEW_WEIGHTS: dict[str, float] = {"artists": 1.0, "tracks": 0.5, "genres": 0.25, "audio": 0.1}
SPARSE_VIEWS: tuple[str, ...] = ("artists", "tracks", "genres")
# Block products: artists and tracks are sparse products. A view with few columns (a couple of
# hundred genre tags that nearly every pair shares) is cheaper as one dense BLAS product; with
# thousands of fine-grained tags the sparse product wins again, and a dense copy would be large.
ALWAYS_SPARSE: tuple[str, ...] = ("artists", "tracks")
DENSE_COLUMNS = 256
# Views whose chance level is estimated and removed (see the module docstring).
CENTRED_VIEWS: tuple[str, ...] = ("genres", "audio")
BASELINE_PAIRS = 20_000
PAIR_CHUNK = 50_000  # pairs whose dense rows are gathered at once


@dataclass(frozen=True)
class TasteVectors:
    """Every view of a population, plus the chance level removed from each view."""

    items: dict[str, ItemView]
    audio: AudioView
    baselines: dict[str, float]

    @property
    def n_members(self) -> int:
        """Number of members (rows)."""
        return int(self.items["artists"].matrix.shape[0])

    def present(self, view: str) -> np.ndarray:
        """Boolean mask of the members that have ``view``."""
        return self.audio.present if view == "audio" else self.items[view].present

    @cached_property
    def stacked(self) -> sp.csr_matrix:
        """Members × the items of the sparse views, each scaled by ``sqrt(weight)``."""
        blocks = [self.items[v].matrix * np.float32(np.sqrt(VIEW_WEIGHTS[v])) for v in self._sparse_views]
        return sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=np.float32)

    @cached_property
    def dense(self) -> np.ndarray:
        """Members × the columns of the dense views (audio, genres when few), × ``sqrt(weight)``."""
        blocks = [self.items[v].matrix.toarray() * np.float32(np.sqrt(VIEW_WEIGHTS[v]))
                  for v in SPARSE_VIEWS if v not in self._sparse_views]
        blocks.append(self.audio.vectors * np.float32(np.sqrt(VIEW_WEIGHTS["audio"])))
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)

    @cached_property
    def _sparse_views(self) -> tuple[str, ...]:
        return tuple(v for v in SPARSE_VIEWS if v in ALWAYS_SPARSE or len(self.items[v].ids) > DENSE_COLUMNS)

    @cached_property
    def presence(self) -> np.ndarray:
        """Members × views (``VIEW_WEIGHTS`` order): 1.0 where the member has the view."""
        return np.stack([self.present(v) for v in VIEW_WEIGHTS], axis=1).astype(np.float32)


def build_vectors(members: ProfileTable | Sequence[TasteProfile], *, seed: int = 0) -> TasteVectors:
    """Build all views of ``members`` and estimate the chance level of the dense views."""
    table = as_table(members)
    unbiased = TasteVectors(
        build_item_views(table), build_audio_view(table), dict.fromkeys(VIEW_WEIGHTS, 0.0)
    )
    rng = np.random.default_rng(seed)
    baselines = dict(unbiased.baselines)
    for view in CENTRED_VIEWS:
        baselines[view] = _chance_level(unbiased, view, rng)
    return TasteVectors(unbiased.items, unbiased.audio, baselines)


def _chance_level(vectors: TasteVectors, view: str, rng: np.random.Generator) -> float:
    """Mean score in ``view`` over random distinct pairs that both have it (0 if < 2 members)."""
    members = np.flatnonzero(vectors.present(view))
    if len(members) < 2:
        return 0.0
    left = rng.choice(members, BASELINE_PAIRS)
    right = rng.choice(members, BASELINE_PAIRS)
    keep = left != right
    return float(view_pair_scores(vectors, view, left[keep], right[keep]).mean())


def view_pair_scores(vectors: TasteVectors, view: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Score in one view for each pair ``(left[k], right[k])`` (a dot product of their rows)."""
    if view == "audio":
        a = vectors.audio.vectors
        return np.einsum("ij,ij->i", a[left], a[right])
    matrix = vectors.items[view].matrix
    return np.asarray(matrix[left].multiply(matrix[right]).sum(axis=1)).ravel()


def pair_scores(vectors: TasteVectors, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Raw compatibility of each pair ``(left[k], right[k])`` (float64)."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    num = np.zeros(len(left))
    den = np.zeros(len(left))
    for view, weight in VIEW_WEIGHTS.items():
        both = vectors.present(view)[left] & vectors.present(view)[right]
        if not both.any():
            continue
        score = np.zeros(len(left))
        score[both] = view_pair_scores(vectors, view, left[both], right[both])
        num += np.where(both, weight * (score - vectors.baselines[view]), 0.0)
        den += np.where(both, weight, 0.0)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


@dataclass(frozen=True)
class MemberSlice:
    """The rows of a set of members, ready for block products.

    ``stacked`` holds the sparse views side by side and ``dense`` the dense ones, each scaled by
    the square root of its weight, so the two products give the weighted sum of the view scores;
    ``presence`` is members × views (``VIEW_WEIGHTS`` order, 1.0 where the member has the view).
    """

    index: np.ndarray
    stacked: sp.csr_matrix
    dense: np.ndarray
    presence: np.ndarray


def member_slice(vectors: TasteVectors, index: np.ndarray) -> MemberSlice:
    """Slice ``index`` out of every view (done once per block side, reused across products)."""
    index = np.asarray(index, dtype=np.int64)
    return MemberSlice(index, vectors.stacked[index], vectors.dense[index], vectors.presence[index])


def block_scores(vectors: TasteVectors, rows: MemberSlice, cols: MemberSlice) -> np.ndarray:
    """Dense ``len(rows) × len(cols)`` matrix of raw compatibility (float32).

    Same formula as :func:`pair_scores`, arranged for few passes over the block: a view one side
    lacks has a zero row there, so its score is already 0 and only the weights and chance levels
    need the presence masks. The chance levels ride along in the dense product (extra columns
    ``−weight·chance·presence`` against ``presence``); the denominator depends only on which
    views each side has, so it comes from a table over the 2^views presence patterns.
    """
    weights, chance = _weights_and_chance(vectors)
    num = np.asarray((rows.stacked @ cols.stacked.T).toarray(), dtype=np.float32)
    left = np.hstack([rows.dense, rows.presence * (-weights * chance)])
    right = np.hstack([cols.dense, cols.presence])
    num += left @ right.T
    inverse = _inverse_weight_table(weights)
    num *= inverse[_patterns(rows.presence)][:, _patterns(cols.presence)]
    return num


def scores_of_pairs(
    vectors: TasteVectors, left: np.ndarray, right: np.ndarray, sparse_part: np.ndarray
) -> np.ndarray:
    """:func:`block_scores` of the pairs ``(left[k], right[k])`` only (float32), given the
    product of their sparse views' rows (``stacked``), which the caller has already computed."""
    weights, chance = _weights_and_chance(vectors)
    num = np.asarray(sparse_part, dtype=np.float32).copy()
    for start in range(0, len(left), PAIR_CHUNK):
        part = slice(start, start + PAIR_CHUNK)
        lhs = np.hstack([vectors.dense[left[part]], vectors.presence[left[part]] * (-weights * chance)])
        rhs = np.hstack([vectors.dense[right[part]], vectors.presence[right[part]]])
        num[part] += np.einsum("ij,ij->i", lhs, rhs)
    inverse = _inverse_weight_table(weights)
    num *= inverse[_patterns(vectors.presence[left]), _patterns(vectors.presence[right])]
    return num


def _weights_and_chance(vectors: TasteVectors) -> tuple[np.ndarray, np.ndarray]:
    """The views' weights and chance levels, in ``VIEW_WEIGHTS`` order (float32)."""
    weights = np.array(list(VIEW_WEIGHTS.values()), dtype=np.float32)
    return weights, np.array([vectors.baselines[v] for v in VIEW_WEIGHTS], dtype=np.float32)


def _patterns(presence: np.ndarray) -> np.ndarray:
    """Each member's presence row as a bit pattern (view v → bit v)."""
    return (presence > 0).astype(np.int64) @ (1 << np.arange(presence.shape[1]))


def _inverse_weight_table(weights: np.ndarray) -> np.ndarray:
    """``1 / Σ weights of the views both patterns have`` (0 when they share none)."""
    bits = (np.arange(1 << len(weights))[:, None] >> np.arange(len(weights))) & 1
    shared = (bits * weights) @ bits.T
    return np.divide(1.0, shared, out=np.zeros_like(shared), where=shared > 0).astype(np.float32)


def twin_scores(vectors: TasteVectors, members: np.ndarray) -> np.ndarray:
    """Each member's score with an identical twin, over all the views the member has (float64).

    The yardstick of the percentage a reader sees (:mod:`percent`): the same formula as
    :func:`pair_scores` with the member on both sides.
    """
    members = np.asarray(members, dtype=np.int64)
    return pair_scores(vectors, members, members)
