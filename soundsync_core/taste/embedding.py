"""A dense low-dimensional taste embedding (TruncatedSVD) and the 2-D taste-map projection.

The projection serves tribes, the map and the late joiners' nearest tribes — never the ranking
(candidates come from shared items, :mod:`shared_items`). Each view block is on the views'
common scale; it is scaled by ``sqrt(view weight)`` before stacking so the projection's dot
product approximates the weighted compatibility, and the standardised audio block is scaled down further so a
18-column dense block cannot dominate sparse artist evidence. Tribes and the map use the
projection's rows normalised to unit length (cosine geometry: *what* a member listens to, not
how rare it is).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA, TruncatedSVD

from soundsync_core.taste.similarity import SPARSE_VIEWS, VIEW_WEIGHTS, TasteVectors

# Tribes and the map use 24 components: broad tastes live there, and on the demo's communities
# (600 members, 15 planted groups) the tribes kept planted groups apart better than with 48
# (0–1 groups sharing a tribe, not 1–3). Until issue #12 the candidate search used 96 (with two
# power iterations); now only those 24 are computed, with four power iterations (at 100,000
# members: 8.7 s, where 96 components with two took 16.7 s on the same loaded host).
EMBEDDING_DIM = 24
PROJECTION_DIM = EMBEDDING_DIM
SVD_ITERATIONS = 4
# Above this many members the components are fitted on a seeded sample of them and every member
# is projected on those: 24 broad directions of taste are found as well in 20,000 members as in
# 100,000 (at 100,000: the SVD took 2.3 s of the tribes' 3.6 s, and most of a core beside the
# matching, for components that barely move).
SVD_SAMPLE = 20_000
AUDIO_BLOCK_SCALE = 0.5


def stacked_views(vectors: TasteVectors) -> sp.csr_matrix:
    """Members × (all artists | tracks | genres | audio summary) with view weights applied."""
    blocks = [vectors.items[view].matrix * np.float32(np.sqrt(VIEW_WEIGHTS[view])) for view in SPARSE_VIEWS]
    audio_scale = np.sqrt(VIEW_WEIGHTS["audio"]) * AUDIO_BLOCK_SCALE
    blocks.append(sp.csr_matrix(vectors.audio.vectors * np.float32(audio_scale)))
    return sp.hstack(blocks, format="csr", dtype=np.float32)


def svd_projection(vectors: TasteVectors, *, dim: int = PROJECTION_DIM, seed: int = 0) -> np.ndarray:
    """TruncatedSVD projection (members × ≤ ``dim``, float32), deterministic given ``seed``;
    fitted on a sample of :data:`SVD_SAMPLE` members when there are more.

    Rows are not normalised: their dot products approximate the members' scores.
    """
    stacked = stacked_views(vectors)
    n_rows, n_cols = stacked.shape
    components = min(dim, n_rows - 1, n_cols - 1)
    if components < 1:
        return stacked.toarray().astype(np.float32)
    svd = TruncatedSVD(n_components=components, n_iter=SVD_ITERATIONS, random_state=seed)
    # Rows that are all the same (members with one shared taste) have no variance: the fit then
    # divides 0 by 0 for ``explained_variance_ratio_``, which is not used here.
    with np.errstate(divide="ignore", invalid="ignore"):
        if n_rows <= SVD_SAMPLE:
            return svd.fit_transform(stacked).astype(np.float32)
        sample = np.sort(np.random.default_rng(seed).choice(n_rows, SVD_SAMPLE, replace=False))
        svd.fit(stacked[sample])
    return np.asarray(stacked @ svd.components_.T.astype(np.float32), dtype=np.float32)


def unit_rows(projection: np.ndarray, dim: int = EMBEDDING_DIM) -> np.ndarray:
    """The first ``dim`` columns of ``projection``, rows at unit length (zero rows stay zero)."""
    projection = projection[:, :dim]
    norms = np.linalg.norm(projection, axis=1, keepdims=True)
    return np.divide(projection, norms, out=np.zeros_like(projection), where=norms > 0)


def map_coordinates(embedding: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """2-D PCA of the embedding for the taste map (members × 2; zeros when n < 2)."""
    n_rows, n_cols = embedding.shape
    if n_rows < 2 or n_cols < 1 or float(embedding.var(axis=0).sum()) < 1e-12:
        return np.zeros((n_rows, 2), dtype=np.float32)
    components = min(2, n_rows, n_cols)
    coords = PCA(n_components=components, random_state=seed).fit_transform(embedding)
    out = np.zeros((n_rows, 2), dtype=np.float32)
    out[:, :components] = coords
    return out
