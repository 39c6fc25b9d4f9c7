"""Simulated listening: who likes which taste groups, and what ends up in their top lists.

Every member's history is a bag of listens drawn from a mixture (shared pop stars, random
artists, and their 1–3 taste groups); the top lists are the most-listened artists and tracks
of that bag. Ranks therefore come from sampled counts and are as noisy as real ones.
Everything is vectorised over all members at once so 100k members take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundsync_synthetic._catalogue import Catalogue, zipf_cdf

MAX_TASTES = 3
# Mixture slots: 0 = pop stars, 1 = random artists, 2.. = the member's taste groups.
_POP, _NOISE, _FIRST_TASTE = 0, 1, 2


@dataclass(frozen=True)
class ListeningModel:
    """How members listen.

    The defaults were tuned so plain artist overlap is an imperfect cue (Jaccard P@10 ≈ 0.45–0.6
    at 300–1000 members) while rank- and rarity-aware similarity can still do clearly better:
    a benchmark where the naive method is already near 1.0 could not tell methods apart.
    """

    zipf_exponent: float = 1.0  # popularity law inside the pop block and each group
    pop_share: tuple[float, float] = (2.0, 4.0)  # Beta(a, b) of the pop-star share (mean 1/3)
    noise_share: tuple[float, float] = (0.02, 0.1)  # Uniform range of random-artist listens
    personal_share: float = 0.7  # listens that follow the member's own favourites in a genre
    stray_share: float = 0.15  # listens that wander into the neighbouring genre


@dataclass(frozen=True)
class Tastes:
    """Planted ground truth: up to three taste groups per member with mixture weights."""

    groups: np.ndarray  # (n, MAX_TASTES) group index, -1 = unused slot
    weights: np.ndarray  # (n, MAX_TASTES) share of the taste part of the profile, rows sum to 1


@dataclass(frozen=True)
class TopLists:
    """Ranked items per member in CSR layout: member ``m`` owns ``[ptr[m], ptr[m + 1])``."""

    ptr: np.ndarray
    items: np.ndarray  # catalogue index, best first within a member
    counts: np.ndarray  # sampled listens, non-increasing within a member


def sample_tastes(rng: np.random.Generator, n: int, n_groups: int) -> Tastes:
    """1–3 tastes per member; second tastes are often the neighbouring genre."""
    group_share = rng.dirichlet(np.full(n_groups, 3.0))  # uneven group sizes, none empty-ish
    n_tastes = rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15], size=n)
    primary = rng.choice(n_groups, size=n, p=group_share)
    neighbour = (primary[:, None] + rng.choice([-1, 1], size=(n, 2))) % n_groups
    anywhere = rng.choice(n_groups, size=(n, 2), p=group_share)
    others = np.where(rng.random((n, 2)) < 0.5, neighbour, anywhere)
    groups = np.column_stack([primary, others])
    weights = -np.sort(-rng.dirichlet(np.ones(MAX_TASTES), size=n), axis=1)
    unused = np.arange(MAX_TASTES)[None, :] >= n_tastes[:, None]
    groups[unused] = -1
    weights[unused] = 0.0
    _merge_duplicates(groups, weights)
    return Tastes(groups=groups, weights=weights / weights.sum(axis=1, keepdims=True))


def _merge_duplicates(groups: np.ndarray, weights: np.ndarray) -> None:
    # Two slots may draw the same group; that is one taste with both weights.
    for later in range(1, MAX_TASTES):
        for earlier in range(later):
            dup = (groups[:, later] == groups[:, earlier]) & (groups[:, later] >= 0)
            weights[dup, earlier] += weights[dup, later]
            weights[dup, later] = 0.0
            groups[dup, later] = -1


def sample_lengths(rng: np.random.Generator, n: int) -> np.ndarray:
    """Top-artist list lengths: a few tiny (5–12), most 20–50, some heavy (51–150)."""
    kind = rng.choice(3, p=[0.1, 0.8, 0.1], size=n)
    short = rng.integers(5, 13, size=n)
    usual = rng.integers(20, 51, size=n)
    heavy = rng.integers(51, 151, size=n)
    return np.choose(kind, [short, usual, heavy])


def sample_artists(
    rng: np.random.Generator,
    catalogue: Catalogue,
    tastes: Tastes,
    lengths: np.ndarray,
    model: ListeningModel,
) -> TopLists:
    """Draw each member's listens over artists and keep the ``lengths[m]`` most played."""
    n = len(lengths)
    draws = np.ceil(2.5 * lengths).astype(np.int64) + 5
    member = np.repeat(np.arange(n), draws)
    slot = _draw_slots(rng, _mixture(rng, tastes, model), member)
    artist = rng.integers(0, catalogue.n_artists, size=len(member))  # the random-artist slot
    is_pop = slot == _POP
    pop_cdf = zipf_cdf(catalogue.n_pop, model.zipf_exponent)
    artist[is_pop] = np.searchsorted(pop_cdf, rng.random(int(is_pop.sum())))
    is_taste = slot >= _FIRST_TASTE
    artist[is_taste] = _taste_artists(
        rng, catalogue, tastes, member[is_taste], slot[is_taste] - _FIRST_TASTE, model
    )
    return top_per_member(rng, member, artist, catalogue.n_artists, lengths)


def _mixture(rng: np.random.Generator, tastes: Tastes, model: ListeningModel) -> np.ndarray:
    n = len(tastes.groups)
    pop = rng.beta(*model.pop_share, size=n)
    noise = rng.uniform(*model.noise_share, size=n)
    taste = (1.0 - pop - noise)[:, None] * tastes.weights
    return np.column_stack([pop, noise, taste])


def _draw_slots(rng: np.random.Generator, mixture: np.ndarray, member: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(mixture, axis=1)
    u = rng.random(len(member))
    slot = np.zeros(len(member), dtype=np.int64)
    # Column by column: gathering the whole (draws x slots) matrix would need gigabytes at 100k.
    for column in range(mixture.shape[1] - 1):
        slot += u >= cumulative[member, column]
    return slot


def _taste_artists(
    rng: np.random.Generator,
    catalogue: Catalogue,
    tastes: Tastes,
    member: np.ndarray,
    taste_slot: np.ndarray,
    model: ListeningModel,
) -> np.ndarray:
    per_group = catalogue.per_group
    n_groups = (catalogue.n_artists - catalogue.n_pop) // per_group
    rank = np.searchsorted(zipf_cdf(per_group, model.zipf_exponent), rng.random(len(member)))
    # Some listens follow the member's own favourites inside the genre rather than the
    # genre's hits: a per-member rotation of the popularity order.
    favourites = rng.integers(0, per_group, size=(len(tastes.groups), MAX_TASTES))
    personal = rng.random(len(member)) < model.personal_share
    rank = np.where(personal, (rank + favourites[member, taste_slot]) % per_group, rank)
    group = tastes.groups[member, taste_slot]
    # Genre neighbourhoods overlap: some listens stray into the adjacent group.
    stray = rng.random(len(member)) < model.stray_share
    group = np.where(stray, (group + rng.choice([-1, 1], size=len(member))) % n_groups, group)
    return catalogue.n_pop + group * per_group + rank


def sample_tracks(
    rng: np.random.Generator,
    catalogue: Catalogue,
    artists: TopLists,
    lengths: np.ndarray,
    model: ListeningModel,
) -> TopLists:
    """Listens over tracks of each member's top artists (weighted by their listens)."""
    n = len(lengths)
    draws = np.where(lengths > 0, np.ceil(2.5 * lengths).astype(np.int64) + 3, 0)
    member = np.repeat(np.arange(n), draws)
    cumulative = np.cumsum(artists.counts).astype(np.float64)
    low = np.concatenate([[0.0], cumulative])[artists.ptr[:-1]]
    high = cumulative[artists.ptr[1:] - 1]
    target = low[member] + rng.random(len(member)) * (high - low)[member]
    position = np.searchsorted(cumulative, target, side="right")
    per_artist = catalogue.tracks_per_artist
    song = np.searchsorted(zipf_cdf(per_artist, model.zipf_exponent), rng.random(len(member)))
    track = artists.items[position] * per_artist + song
    return top_per_member(rng, member, track, catalogue.n_artists * per_artist, lengths)


def top_per_member(
    rng: np.random.Generator,
    member: np.ndarray,
    item: np.ndarray,
    n_items: int,
    limits: np.ndarray,
) -> TopLists:
    """Count listens per (member, item), order by count (random tie-break), keep the top."""
    n = len(limits)
    keys, counts = np.unique(member * np.int64(n_items) + item, return_counts=True)
    owner = keys // n_items
    # One float key (owner, then fewest-missing listens, then a random tie-break) sorts in a
    # fraction of the time of a three-key lexsort; all parts are exact well below 2**52.
    span = float(counts.max()) + 1.0
    order = np.argsort(owner * span + (span - 1 - counts) + 0.5 * rng.random(len(keys)))
    owner, items, counts = owner[order], (keys % n_items)[order], counts[order]
    start = np.searchsorted(owner, np.arange(n))
    keep = (np.arange(len(owner)) - start[owner]) < limits[owner]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(owner[keep], minlength=n))])
    return TopLists(ptr=ptr, items=items[keep], counts=counts[keep])
