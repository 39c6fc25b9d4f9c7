"""Sparse taste vectors: one members × items matrix per view (artists, tracks, genres).

Each item a member lists gets ``rank weight × count weight``:

* rank weight ``1 / log2(rank + 1)`` — the DCG discount, a smooth decay that keeps a member's
  10th artist meaningful while the favourite counts most;
* count weight ``log1p(count) / log1p(max count of that member)`` when playcounts are known, so a
  heavy listener's 5 000 plays do not outweigh a light listener's 50 (items without a count get
  the member's mean count weight rather than a made-up maximum).

Then smooth IDF over the members who have the view, ``log((N + 1) / (df + 1)) + 1``, so a rare
shared artist says more than one everybody lists, and rows are L2-normalised so the dot product
is a cosine. A member's list is capped at :data:`MAX_ITEMS_PER_VIEW` best-ranked items: the long
tail of a 2 000-artist Last.fm history is mostly noise and would make sparse products slow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

MAX_ITEMS_PER_VIEW = 500


@dataclass(frozen=True)
class ItemView:
    """One sparse view of the population.

    ``matrix`` holds the IDF-weighted, L2-normalised rows (cosine = dot product); ``ranks`` has
    the same sparsity pattern and holds each member's rank of the item (genres: the best rank
    of an artist carrying it). ``present[i]`` says member *i* has this view at all.
    """

    name: str
    matrix: sp.csr_matrix
    ranks: sp.csr_matrix
    ids: np.ndarray
    idf: np.ndarray
    present: np.ndarray

    def column_of(self) -> dict[str, int]:
        """Map item id → column (built on demand: only reasons and tribes need it)."""
        return {item: col for col, item in enumerate(self.ids)}


# A member's weighted items as parallel lists (ids, ranks, weights): plain lists, because this
# runs once per member per view and must stay fast for 100k members.
Entries = tuple[list[str], list[int], list[float]]

_RANK_WEIGHTS = [0.0, *(1.0 / math.log2(r + 1) for r in range(1, MAX_ITEMS_PER_VIEW + 1))]


def rank_weight(rank: int) -> float:
    """DCG discount ``1 / log2(rank + 1)``: 1.0 for the favourite, 0.5 for rank 3."""
    if 0 < rank < len(_RANK_WEIGHTS):
        return _RANK_WEIGHTS[rank]
    return 1.0 / math.log2(max(rank, 1) + 1)


def count_factors(counts: Sequence[int | None]) -> list[float]:
    """Damped playcount factors in (0, 1], relative to the member's own most-played item."""
    known = [c for c in counts if c is not None and c > 0]
    if not known:
        return [1.0] * len(counts)
    top = math.log1p(max(known)) or 1.0
    factors = {c: math.log1p(c) / top for c in set(known)}
    fill = sum(factors[c] for c in known) / len(known)
    return [factors[c] if c is not None and c > 0 else fill for c in counts]


def _weighted(items: Iterable[RankedArtist | RankedTrack]) -> Entries:
    """Deduplicate by id (best rank wins), cap the list, and weight each item."""
    seen: set[str] = set()
    ids: list[str] = []
    ranks: list[int] = []
    counts: list[int | None] = []
    for item in sorted(items, key=_by_rank):
        if item.id not in seen:
            seen.add(item.id)
            ids.append(item.id)
            ranks.append(item.rank)
            counts.append(item.playcount)
            if len(ids) == MAX_ITEMS_PER_VIEW:
                break
    weights = [rank_weight(r) for r in ranks]
    if any(c is not None for c in counts):
        weights = [w * f for w, f in zip(weights, count_factors(counts), strict=True)]
    return ids, ranks, weights


def _by_rank(item: RankedArtist | RankedTrack) -> int:
    return item.rank


def artist_lists(profile: TasteProfile) -> Entries:
    """The member's weighted artists; falls back to the artists of their tracks when empty."""
    if profile.artists:
        return _weighted(profile.artists)
    artists_of = {t.id: t.artist_ids for t in profile.tracks}
    derived: dict[str, float] = {}
    for track_id, _, weight in zip(*_weighted(profile.tracks), strict=True):
        for artist_id in artists_of[track_id]:
            derived[artist_id] = derived.get(artist_id, 0.0) + weight
    ordered = sorted(derived.items(), key=lambda kv: -kv[1])
    return [a for a, _ in ordered], list(range(1, len(ordered) + 1)), [w for _, w in ordered]


def track_lists(profile: TasteProfile) -> Entries:
    """The member's weighted tracks."""
    return _weighted(profile.tracks)


def genre_lists(profile: TasteProfile) -> Entries:
    """Genres weighted by the summed weights of the member's artists that carry them."""
    return _genres_of_artists(profile, artist_lists(profile))


def _genres_of_artists(profile: TasteProfile, artists: Entries) -> Entries:
    """:func:`genre_lists` from the member's already weighted artists."""
    genres_of = {a.id: a.genres for a in profile.artists if a.genres}
    if not genres_of:
        return [], [], []
    weight: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    for artist_id, rank, artist_weight in zip(*artists, strict=True):
        for genre in genres_of.get(artist_id, ()):
            weight[genre] = weight.get(genre, 0.0) + artist_weight
            best_rank[genre] = min(best_rank.get(genre, rank), rank)
    return list(weight), [best_rank[g] for g in weight], list(weight.values())


class WeightedItem(NamedTuple):
    """One weighted item of a member (the public, per-member form of :data:`Entries`)."""

    item: str
    rank: int
    weight: float


def artist_entries(profile: TasteProfile) -> list[WeightedItem]:
    """The member's weighted artists (rank × count weight, before IDF), best first."""
    return [WeightedItem(*entry) for entry in zip(*artist_lists(profile), strict=True)]


def smooth_idf(df: np.ndarray, n_members: int) -> np.ndarray:
    """Smooth IDF ``log((N + 1) / (df + 1)) + 1`` (never zero, so ubiquitous items still count)."""
    return (np.log((n_members + 1.0) / (df + 1.0)) + 1.0).astype(np.float32)


def _l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix, dtype=np.float32)


def build_view(
    name: str, profiles: Sequence[TasteProfile], entries: Callable[[TasteProfile], Entries]
) -> ItemView:
    """Build one view: weights → IDF over members having the view → L2-normalised rows."""
    return _view_of(name, [entries(profile) for profile in profiles])


def _view_of(name: str, lists: Sequence[Entries]) -> ItemView:
    """One view from every member's weighted items (row order = members)."""
    column: dict[str, int] = {}
    lengths: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    ranks: list[int] = []
    for ids, item_ranks, item_weights in lists:
        lengths.append(len(ids))
        cols.extend([column.setdefault(item, len(column)) for item in ids])
        weights.extend(item_weights)
        ranks.extend(item_ranks)
    shape = (len(lists), len(column))
    r = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    c = np.asarray(cols, dtype=np.int64)
    raw = sp.csr_matrix((np.asarray(weights, dtype=np.float32), (r, c)), shape=shape)
    rank_m = sp.csr_matrix((np.asarray(ranks, dtype=np.float32), (r, c)), shape=shape)
    present = np.diff(raw.indptr) > 0
    df = np.bincount(c, minlength=shape[1])
    idf = smooth_idf(df, int(present.sum()))
    matrix = _l2_rows(sp.csr_matrix(raw @ sp.diags(idf), dtype=np.float32))
    ids_array = np.empty(len(column), dtype=object)
    ids_array[:] = list(column)
    return ItemView(name, matrix, rank_m, ids_array, idf, present)


def build_item_views(profiles: Sequence[TasteProfile]) -> dict[str, ItemView]:
    """The three sparse views of a population, keyed ``artists``, ``tracks``, ``genres``."""
    artists = [artist_lists(profile) for profile in profiles]
    genres = [_genres_of_artists(p, entries) for p, entries in zip(profiles, artists, strict=True)]
    return {
        "artists": _view_of("artists", artists),
        "tracks": build_view("tracks", profiles, track_lists),
        "genres": _view_of("genres", genres),
    }
