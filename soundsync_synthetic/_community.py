"""A synthetic community: members, guilds, planted taste groups and their profiles."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from soundsync_core.gc_pause import cyclic_gc_paused
from soundsync_core.taste.profile import AUDIO_FEATURES, RankedArtist, RankedTrack, TasteProfile
from soundsync_synthetic._catalogue import Catalogue, build_catalogue
from soundsync_synthetic._jsonl import profile_record, write_jsonl
from soundsync_synthetic._listening import (
    ListeningModel,
    Tastes,
    TopLists,
    sample_artists,
    sample_lengths,
    sample_tastes,
    sample_tracks,
)

# A taste is "main" (ground truth) when it carries at least this share of the member's tastes;
# every member has at least one (the largest of k weights is >= 1/k >= 1/3).
MAIN_TASTE_SHARE = 1.0 / 3.0
# What GET /me/top gives a Spotify app: at most 50 artists and 50 tracks.
SPOTIFY_TOP_LIMIT = 50
_USER_ID_BASE = 100_000_000_000_000_000  # snowflake-sized ids, like Discord's
_GUILD_ID_BASE = 700_000_000_000_000_000


@dataclass(frozen=True, eq=False)  # arrays inside: identity is the only sensible equality
class SyntheticCommunity:
    """Members with planted taste groups; ``profiles`` are what the product would import.

    Use :meth:`restricted_app` for the same members as a new Spotify app sees them.
    """

    seed: int
    user_ids: tuple[int, ...]
    display_names: tuple[str, ...]
    guild_ids: tuple[tuple[int, ...], ...]
    tastes: Tastes
    catalogue: Catalogue
    artists: TopLists
    tracks: TopLists
    artist_plays: np.ndarray  # playcount per artist entry (shown only where shows_playcounts)
    track_plays: np.ndarray
    shows_playcounts: np.ndarray  # bool per member (Last.fm / ListenBrainz / export users)
    shows_features: np.ndarray  # bool per member (their provider still returns audio features)
    shows_genres: bool = True
    item_limit: int | None = None

    @property
    def n_members(self) -> int:
        """How many members."""
        return len(self.user_ids)

    @property
    def n_groups(self) -> int:
        """How many planted taste groups."""
        return len(self.catalogue.group_genres)

    @cached_property
    def groups(self) -> dict[int, set[int]]:
        """Ground truth: user_id → main taste groups (share >= MAIN_TASTE_SHARE)."""
        main = self.tastes.weights >= MAIN_TASTE_SHARE - 1e-12
        return {
            uid: {int(g) for g in row[keep]}
            for uid, row, keep in zip(self.user_ids, self.tastes.groups, main, strict=True)
        }

    @cached_property
    def taste_weights(self) -> dict[int, dict[int, float]]:
        """Full planted mixture: user_id → {taste group: share of the taste part}."""
        return {
            uid: {int(g): float(w) for g, w in zip(gs, ws, strict=True) if g >= 0}
            for uid, gs, ws in zip(
                self.user_ids, self.tastes.groups, self.tastes.weights, strict=True
            )
        }

    @cached_property
    def artist_names(self) -> dict[str, str]:
        """Artist id → name for the whole catalogue."""
        return {artist_id(i): name for i, name in enumerate(self.catalogue.artist_names)}

    @cached_property
    def profiles(self) -> list[TasteProfile]:
        """One :class:`TasteProfile` per member, in ``user_ids`` order (built on first use)."""
        return _ProfileBuilder(self).build()

    def to_jsonl_records(self) -> Iterator[dict[str, Any]]:
        """Every member as a DESIGN §9 record, in ``user_ids`` order."""
        return map(profile_record, self.profiles)

    def write_jsonl(self, path: Path | str) -> int:
        """Write the community as §9 JSONL; returns how many members were written."""
        return write_jsonl(self.profiles, path)

    def restricted_app(self) -> SyntheticCommunity:
        """The same listening seen by a new Spotify app: top 50 only, no counts/genres/features."""
        return dataclasses.replace(
            self,
            shows_playcounts=np.zeros_like(self.shows_playcounts),
            shows_features=np.zeros_like(self.shows_features),
            shows_genres=False,
            item_limit=SPOTIFY_TOP_LIMIT,
        )


def artist_id(index: int) -> str:
    """Catalogue id of artist ``index``."""
    return f"a{index}"


def track_id(index: int) -> str:
    """Catalogue id of track ``index``."""
    return f"t{index}"


def generate_community(
    n_members: int,
    *,
    seed: int,
    n_groups: int | None = None,
    n_guilds: int | None = None,
    audio_fraction: float = 0.5,
    playcount_fraction: float = 0.3,
    genre_fraction: float = 0.6,
    no_tracks_fraction: float = 0.15,
    artists_per_group: int = 400,
    model: ListeningModel | None = None,
) -> SyntheticCommunity:
    """Draw a deterministic synthetic community of ``n_members`` (same seed → same community).

    ``n_groups`` defaults to about n/40 (4…80); ``n_guilds`` to about n/100 (3…64).
    The fractions say which share of members/artists shows each optional field.
    """
    if n_members < 1:
        raise ValueError("n_members must be at least 1")
    rng = np.random.default_rng(seed)
    n_groups = n_groups or int(np.clip(round(n_members / 40), 4, 80))
    model = model or ListeningModel()
    catalogue = build_catalogue(
        rng, n_groups, n_pop=300, per_group=artists_per_group, tracks_per_artist=8,
        genre_fraction=genre_fraction, feature_coverage=0.9,
    )  # fmt: skip
    tastes = sample_tastes(rng, n_members, n_groups)
    lengths = sample_lengths(rng, n_members)
    artists = sample_artists(rng, catalogue, tastes, lengths, model)
    track_lengths = _track_lengths(rng, np.diff(artists.ptr), no_tracks_fraction)
    tracks = sample_tracks(rng, catalogue, artists, track_lengths, model)
    scale = rng.lognormal(np.log(15.0), 0.7, size=n_members)
    return SyntheticCommunity(
        seed=seed,
        user_ids=tuple(range(_USER_ID_BASE + 1, _USER_ID_BASE + 1 + n_members)),
        display_names=tuple(f"member{i + 1}" for i in range(n_members)),
        guild_ids=_guilds(rng, n_members, n_guilds),
        tastes=tastes,
        catalogue=catalogue,
        artists=artists,
        tracks=tracks,
        artist_plays=_plays(rng, artists, scale),
        track_plays=_plays(rng, tracks, scale / 3.0),
        # Anyone with more than Spotify's 50 came from Last.fm/ListenBrainz/an export: counts.
        shows_playcounts=(rng.random(n_members) < playcount_fraction) | (lengths > 50),
        shows_features=rng.random(n_members) < audio_fraction,
    )


def _track_lengths(
    rng: np.random.Generator, artist_lengths: np.ndarray, no_tracks_fraction: float
) -> np.ndarray:
    wanted = np.round(artist_lengths * rng.uniform(0.6, 1.3, size=len(artist_lengths)))
    has_tracks = rng.random(len(artist_lengths)) >= no_tracks_fraction
    return np.where(has_tracks, np.clip(wanted, 3, SPOTIFY_TOP_LIMIT), 0).astype(np.int64)


def _plays(rng: np.random.Generator, lists: TopLists, scale: np.ndarray) -> np.ndarray:
    owner = np.repeat(np.arange(len(scale)), np.diff(lists.ptr))
    # Monotone in the sampled count, so a playcount never contradicts the rank order.
    return np.maximum(1, np.round(lists.counts * scale[owner])).astype(np.int64)


def _guilds(rng: np.random.Generator, n: int, n_guilds: int | None) -> tuple[tuple[int, ...], ...]:
    count = n_guilds or int(np.clip(round(n / 100), 3, 64))
    first = rng.choice(count, size=n, p=rng.dirichlet(np.full(count, 2.0)))
    second = (first + rng.integers(1, max(count, 2), size=n)) % count
    joins_two = (rng.random(n) < 0.3) & (count > 1)
    return tuple(
        (_GUILD_ID_BASE + int(a), _GUILD_ID_BASE + int(b)) if two else (_GUILD_ID_BASE + int(a),)
        for a, b, two in zip(first.tolist(), second.tolist(), joins_two.tolist(), strict=True)
    )


class _ProfileBuilder:
    """Turns the columnar community into TasteProfile objects.

    Columns are gathered with numpy object arrays and the objects made with ``map`` over
    the flat entries, then sliced per member: a per-member Python loop was 3x slower at 100k.
    """

    def __init__(self, community: SyntheticCommunity) -> None:
        self.c = community
        cat = community.catalogue
        self.artist_ids = _objects(artist_id(i) for i in range(cat.n_artists))
        self.artist_names = _objects(cat.artist_names)

    def build(self) -> list[TasteProfile]:
        # Millions of small acyclic objects: the cyclic collector would rescan them over and
        # over (half the build time at 100k members) and can never free any of them.
        with cyclic_gc_paused():
            return self._build()

    def _build(self) -> list[TasteProfile]:
        c = self.c
        artists, a_ptr = self._artists()
        tracks, t_ptr = self._tracks()
        return [
            TasteProfile(
                uid,
                tuple(artists[a_ptr[m] : a_ptr[m + 1]]),
                tuple(tracks[t_ptr[m] : t_ptr[m + 1]]),
                c.display_names[m],
                c.guild_ids[m],
                ("synthetic",),
            )
            for m, uid in enumerate(c.user_ids)
        ]

    def _artists(self) -> tuple[list[RankedArtist], list[int]]:
        c = self.c
        owner, ranks, keep, ptr = _entries(c.artists.ptr, c.item_limit)
        items = c.artists.items[keep]
        genres = _objects(c.catalogue.artist_genres)[items] if c.shows_genres else None
        columns = (
            self.artist_ids[items],
            ranks,
            self.artist_names[items],
            _where(c.shows_playcounts[owner], c.artist_plays[keep]),
            genres if genres is not None else _objects(() for _ in range(len(items))),
        )
        return list(map(RankedArtist, *(col.tolist() for col in columns))), ptr

    def _tracks(self) -> tuple[list[RankedTrack], list[int]]:
        c, cat = self.c, self.c.catalogue
        owner, ranks, keep, ptr = _entries(c.tracks.ptr, c.item_limit)
        items = c.tracks.items[keep]
        by = _objects((a,) for a in self.artist_ids.tolist())
        features = _objects(
            MappingProxyType(dict(zip(AUDIO_FEATURES, row, strict=True))) if known else None
            for row, known in zip(
                cat.track_features.tolist(), cat.track_known.tolist(), strict=True
            )
        )
        columns = (
            _objects(track_id(t) for t in items.tolist()),
            ranks,
            _objects(cat.track_titles)[items],
            by[items // cat.tracks_per_artist],
            _where(c.shows_playcounts[owner], c.track_plays[keep]),
            np.where(c.shows_features[owner], features[items], None),
        )
        return list(map(RankedTrack, *(col.tolist() for col in columns))), ptr


def _entries(
    ptr: np.ndarray, limit: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Owner, 1-based rank and kept mask of every CSR entry (top ``limit`` per member)."""
    owner = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    ranks = np.arange(len(owner)) - ptr[owner] + 1
    keep = ranks <= (limit if limit is not None else np.inf)
    kept_ptr = np.concatenate([[0], np.cumsum(np.bincount(owner[keep], minlength=len(ptr) - 1))])
    return owner[keep], ranks[keep], keep, kept_ptr.tolist()


def _where(shown: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` as Python ints where ``shown``, None elsewhere."""
    out = _objects(values.tolist())
    out[~shown] = None
    return out


def _objects(values: Iterable[object]) -> np.ndarray:
    """A 1-d object array (tuples stay elements instead of becoming a second axis)."""
    return np.fromiter(values, dtype=object)
