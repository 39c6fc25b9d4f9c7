"""Sparse taste vectors: one members × items matrix per view (artists, tracks, genres).

Each item a member lists gets a listening weight ``t``:

* ``plays ** 0.75`` when the member's list has playcounts (Last.fm, ListenBrainz, the Spotify
  export, or a merge of them): how concentrated their own listening is — items without a count
  in a counted list get the member's mean; otherwise
* the DCG rank weight ``1 / log2(rank + 1)``, a smooth decay that keeps a member's 10th artist
  meaningful while the favourite counts most.

Each member's weights are L2-normalised **over their own list** (one normalisation per member,
never per pair), then every item is scaled by its rarity ``df ** -0.3`` (``df`` = members of
the view listing it), so the dot product of two rows is ``Σ_shared t_u · t_v · df ** -0.6``: a rare
shared artist says far more than one everybody lists, and nothing divides by the *other*
member's norm — a cosine would punish the member whose unshared niche artists inflate it, and
sharing rare artists is the very signal. Finally a view is divided by the square root of its
mean self-score (``Σ t² · df ** -0.6`` over the members who have it), so every view's scores are in
the same unit — "a typical member's score with an identical twin" — and views can be mixed.

On real friendships the best pair rarity exponent lies anywhere in 0.4–0.6 (``1/√df`` beat
``ln(N/df)``); the synthetic communities, whose 300 popular artists cross every taste group,
do clearly better at the strong end, so the pair exponent is 0.6 (``RARITY_EXPONENT`` 0.3 a
side): inside the flat optimum of the real data, without regressing on the synthetic one.

A member's list is capped at :data:`MAX_ITEMS_PER_VIEW` best-ranked items: the long tail of a
2 000-artist Last.fm history is mostly noise and would make sparse products slow.

A member without artists gets the artists of their tracks (summed track weights, heaviest
first); genres are weighted by the summed weights of the member's artists that carry them.

Everything works on a whole :class:`ProfileTable` at once — grouped numpy operations over every
member's entries, no per-member Python — so 100k members cost a few array passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from soundsync_core.taste.kernels import (
    columns_by_appearance,
    first_listings,
    listed_by_rank,
    non_decreasing,
)
from soundsync_core.taste.profile import Listing, ProfileTable, TasteProfile, as_table

MAX_ITEMS_PER_VIEW = 500
# The optimum measured on real friendships is flat (plays 0.5–0.75, rarity 0.4–0.6 per pair; see
# the module docstring). RARITY_EXPONENT is per side, so a pair gets df ** -0.6.
PLAY_EXPONENT = 0.75
RARITY_EXPONENT = 0.3


@dataclass(frozen=True)
class ItemView:
    """One sparse view of the population.

    ``matrix`` holds the per-member normalised, rarity-weighted rows on the view's common scale
    (the view's score of two members is their dot product); ``ranks`` has the same sparsity
    pattern and holds each member's rank of the item (genres: the best rank of an artist
    carrying it); ``rarity`` is each column's ``df ** -0.3``. ``present[i]`` says member *i*
    has this view at all.
    """

    name: str
    matrix: sp.csr_matrix
    ranks: sp.csr_matrix
    ids: np.ndarray
    rarity: np.ndarray
    present: np.ndarray

    def column_of(self) -> dict[str, int]:
        """Map item id → column (built on demand: only reasons and tribes need it)."""
        return {item: col for col, item in enumerate(self.ids)}


class Entries(NamedTuple):
    """Weighted items of every member, flat: members in order, each member's items best first."""

    member: np.ndarray  # int64
    item: np.ndarray  # int64: an item-table row or an id code (see the producer)
    rank: np.ndarray  # int64
    weight: np.ndarray  # float64, the listening weight t before normalisation and rarity


def rank_weights(ranks: np.ndarray) -> np.ndarray:
    """DCG discount ``1 / log2(rank + 1)``: 1.0 for the favourite, 0.5 for rank 3 (below 1: as 1)."""
    ranks = np.maximum(np.asarray(ranks, dtype=np.int64), 1)
    return _exact(lambda rank: 1.0 / math.log2(rank + 1), ranks)


def count_factors(member: np.ndarray, counts: np.ndarray, n_members: int) -> np.ndarray:
    """Damped playcount factors in (0, 1], each relative to its member's most-played item.

    ``counts[k]`` is entry *k*'s playcount (< 1 = unknown) and ``member[k]`` its member.
    Unknown counts get the member's mean factor; a member without any count gets 1.0.
    """
    factors = np.ones(len(counts))
    known = counts > 0
    if not known.any():
        return factors
    owner = member[known]
    top = np.zeros(n_members, dtype=np.int64)
    np.maximum.at(top, owner, counts[known])
    known_factors = _exact(math.log1p, counts[known]) / _exact(math.log1p, top)[owner]
    n_known = np.bincount(owner, minlength=n_members)
    fill = np.bincount(owner, known_factors, n_members) / np.maximum(n_known, 1)
    counted = n_known[member] > 0
    factors[counted] = fill[member[counted]]
    factors[known] = known_factors
    return factors


def listening_weights(member: np.ndarray, rank: np.ndarray, counts: np.ndarray, n_members: int) -> np.ndarray:
    """Each entry's weight ``t`` before normalisation: ``plays ** 0.75``, or the rank weight.

    ``member[k]``, ``rank[k]`` and ``counts[k]`` describe entry *k* (a count < 1 is unknown). A
    member with at least one known count is weighted by counts; their items without one get
    the member's mean count weight. A member without any count is weighted by rank.
    """
    weights = rank_weights(rank)
    known = counts > 0
    if not known.any():
        return weights
    owner = member[known]
    played = np.asarray(counts[known], dtype=np.float64) ** PLAY_EXPONENT
    n_known = np.bincount(owner, minlength=n_members)
    fill = np.bincount(owner, played, n_members) / np.maximum(n_known, 1)
    counted = n_known[member] > 0
    weights[counted] = fill[member[counted]]
    weights[known] = played
    return weights


def _exact(function: Callable[[int], float], values: np.ndarray) -> np.ndarray:
    """``function`` of every integer value, evaluated once per distinct value with Python's math.

    numpy's vectorised logarithms can differ from ``math``'s in the last bit; the weights stay
    the same as a member-by-member computation would give, and ranks and counts repeat a lot.
    """
    if not len(values):
        return np.zeros(0)
    low, high = int(values.min()), int(values.max())
    if high - low < max(len(values), 1024):
        table = np.array([function(v) for v in range(low, high + 1)])
        return table[values - low]
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([function(int(v)) for v in distinct])[inverse]


def _weighted(listing: Listing, code: np.ndarray, n_codes: int, n_members: int) -> Entries:
    """Per member: items by rank (ties as listed), each id once at its best rank, capped, weighted.

    ``code`` maps the listing's item rows to ids (the deduplication key); the entries keep the
    row of the best-ranked listing of each id. A member is weighted by counts if a kept item has one.
    """
    columns = (listing.member, listing.item, listing.rank, listing.count)
    if not listed_by_rank(listing.member, listing.rank):
        order = np.lexsort((listing.rank, listing.member))
        columns = tuple(column[order] for column in columns)
    member, row, rank, count = columns
    # An id listed twice keeps its first (best) entry; then the first MAX_ITEMS_PER_VIEW.
    kept = first_listings(member, code[row], n_codes, MAX_ITEMS_PER_VIEW)
    if not kept.all():  # else the listing's own arrays: no copies (600 MB a view at a million)
        member, row, rank, count = member[kept], row[kept], rank[kept], count[kept]
    return Entries(member, row, rank, listening_weights(member, rank, count, n_members))


def _positions(member: np.ndarray, n_members: int) -> np.ndarray:
    """Position of every entry within its member's run (``member`` is non-decreasing)."""
    sizes = np.bincount(member, minlength=n_members)
    return np.arange(len(member), dtype=np.int64) - (np.cumsum(sizes) - sizes)[member]


def _listed_entries(table: ProfileTable) -> tuple[Entries, Entries]:
    """Every member's weighted listed artists, and the weighted tracks of the members who list
    no artist (items are item-table rows)."""
    n = len(table)
    artists = _weighted(table.artists, table.artist_code, len(table.artist_ids), n)
    tracks = _weighted(table.tracks, table.track_code, len(table.track_ids), n)
    return artists, _of_artistless(table, tracks)


def _of_artistless(table: ProfileTable, tracks: Entries) -> Entries:
    """The entries of the members who list no artist (their artists come from these tracks)."""
    chosen = table.artists.unlisted(len(table))[tracks.member]
    return Entries(*(column[chosen] for column in tracks))


def _artist_entries_of(table: ProfileTable, listed: Entries, tracks: Entries) -> Entries:
    """Every member's weighted artists by artist code, from :func:`_listed_entries`.

    A member who lists no artist gets the artists of their weighted ``tracks``: each artist
    weighs the sum of its tracks' weights, heaviest first (ties in order of appearance), ranked
    1, 2, …
    """
    n = len(table)
    which, artist = table.track_artists.expand(tracks.item)
    member, weight = tracks.member[which], tracks.weight[which]
    key = member.astype(np.int64) * len(table.artist_ids) + artist
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    total = np.bincount(group, weight, len(first))
    order = np.lexsort((first, -total, member[first]))
    derived_member = member[first][order]
    derived = Entries(derived_member, artist[first][order], _positions(derived_member, n) + 1, total[order])
    coded = listed._replace(item=table.artist_code[listed.item])
    if not len(derived.member):  # everyone lists artists
        return coded
    merged = np.argsort(np.concatenate([coded.member, derived.member]), kind="stable")
    return Entries(*(np.concatenate([a, b])[merged] for a, b in zip(coded, derived, strict=True)))


def _genre_entries_of(table: ProfileTable, listed: Entries) -> Entries:
    """Genres weighted by the summed weights of the member's (listed) artists that carry them.

    A genre's rank is the best rank of those artists; genres come in order of appearance.
    """
    which, genre = table.artist_genres.expand(listed.item)
    member = listed.member[which]
    key = member.astype(np.int64) * len(table.genre_ids) + genre
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    total = np.bincount(group, listed.weight[which], len(first))
    best = np.full(len(first), np.iinfo(np.int64).max)
    np.minimum.at(best, group, listed.rank[which])
    order = np.argsort(first, kind="stable")
    return Entries(member[first][order], genre[first][order], best[order], total[order])


class WeightedItem(NamedTuple):
    """One weighted item of a member (the public, per-member form of :class:`Entries`)."""

    item: str
    rank: int
    weight: float


def artist_entries(profile: TasteProfile) -> list[WeightedItem]:
    """The member's weighted artists (listening weight ``t``, before normalisation), best first."""
    table = ProfileTable.of([profile])
    entries = _artist_entries_of(table, *_listed_entries(table))
    return [
        WeightedItem(str(table.artist_ids[code]), int(rank), float(weight))
        for code, rank, weight in zip(entries.item, entries.rank, entries.weight, strict=True)
    ]


def rarity(df: np.ndarray) -> np.ndarray:
    """Per-side rarity ``df ** -0.3`` (a shared item weighs ``df ** -0.6`` in a pair's score).

    A power of ``df`` beat ``ln(N/df)`` on real friendships: an artist two hundred members list
    still says something, only much less than one that two members list.
    """
    return np.power(np.maximum(df, 1).astype(np.float64), -RARITY_EXPONENT).astype(np.float32)


def _view_of(name: str, entries: Entries, ids: np.ndarray, n_members: int) -> ItemView:
    """One view from every member's weighted items (``entries.item`` codes ``ids``).

    Columns follow the items' first appearance (members in order, each best first).
    """
    column, n_used = columns_by_appearance(entries.item, len(ids))
    by_appearance = np.empty(n_used, dtype=np.int64)
    used = np.flatnonzero(column >= 0)
    by_appearance[column[used]] = used
    c = column[entries.item]
    if not non_decreasing(entries.member):  # entries come by member: no reordering copies
        order = np.argsort(entries.member, kind="stable")
        entries, c = entries._replace(weight=entries.weight[order], rank=entries.rank[order]), c[order]
    sizes = np.bincount(entries.member, minlength=n_members)
    indptr = np.zeros(n_members + 1, dtype=np.int32 if len(c) < 2**31 else np.int64)
    np.cumsum(sizes, out=indptr[1:])
    weights = rarity(np.bincount(c, minlength=n_used))
    # Each row by column; the weights and the ranks share one index array (at a million members
    # every array of a view is 200 MB, so the view is scaled in place rather than by products).
    indices, by_column = _by_column(c, indptr, n_used)
    del c
    data = entries.weight[by_column].astype(np.float32)
    ranks = entries.rank[by_column].astype(np.float32)
    del by_column
    shape = (n_members, n_used)
    # The same float32 roundings as the products they stand for: rows to unit length, then each
    # column by its rarity, then the view by the root of its members' mean self-score.
    norms = np.sqrt(_row_squares(data, indptr, n_members))
    data *= np.repeat(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0), sizes)
    data *= weights[indices]
    present = sizes > 0
    self_scores = _row_squares(data, indptr, n_members)[present]
    mean = float(self_scores.mean()) if len(self_scores) else 0.0
    if mean > 0:
        data *= np.float32(1.0 / np.sqrt(mean))
    return ItemView(
        name,
        sp.csr_matrix((data, indices, indptr), shape=shape),
        sp.csr_matrix((ranks, indices, indptr), shape=shape),
        ids[by_appearance], weights, present,
    )


def _by_column(columns: np.ndarray, indptr: np.ndarray, n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's columns in order, and the order that puts its entries so (a row holds each
    column once). ``columns`` may be sorted in place: it is given up."""
    position = sp.csr_matrix(
        (np.arange(len(columns), dtype=np.int64 if len(columns) >= 2**31 else np.int32),
         columns, indptr), shape=(len(indptr) - 1, n_columns))
    position.sort_indices()
    return position.indices, position.data


def _row_squares(data: np.ndarray, indptr: np.ndarray, n_rows: int) -> np.ndarray:
    """Each row's sum of squares, summed as scipy sums a row of ``matrix.multiply(matrix)``."""
    sums = np.zeros(n_rows, dtype=data.dtype)
    nonempty = np.flatnonzero(np.diff(indptr))
    if len(nonempty):
        sums[nonempty] = np.add.reduceat(data * data, indptr[nonempty])
    return sums


def build_item_views(members: ProfileTable | Sequence[TasteProfile]) -> dict[str, ItemView]:
    """The three sparse views of a population, keyed ``artists``, ``tracks``, ``genres``."""
    table = as_table(members)
    n = len(table)
    # One view after the other, each view's entries let go once it is built (at a million
    # members every member's entries of one view are 1 GB). A second thread saved a third of
    # the fit's time but held two views' temporaries at once.
    tracks = _weighted(table.tracks, table.track_code, len(table.track_ids), n)
    of_artistless = _of_artistless(table, tracks)
    track_view = _view_of("tracks", tracks._replace(item=table.track_code[tracks.item]), table.track_ids, n)
    del tracks
    listed = _weighted(table.artists, table.artist_code, len(table.artist_ids), n)
    artists = _view_of("artists", _artist_entries_of(table, listed, of_artistless), table.artist_ids, n)
    return {"artists": artists, "tracks": track_view,
            "genres": _view_of("genres", _genre_entries_of(table, listed), table.genre_ids, n)}
