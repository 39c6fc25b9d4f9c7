"""Small synthetic communities for the taste-engine tests (planted taste groups)."""

from __future__ import annotations

import numpy as np

from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

GROUP_POOL = 40
GLOBAL_POOL = 200
TRACKS_PER_ARTIST = 5


def artist_id(group: int | None, k: int) -> str:
    """Id of the k-th artist of a group pool (None = the shared global pool)."""
    return f"g{group}a{k}" if group is not None else f"pop{k}"


def community(
    n: int,
    groups: int,
    *,
    seed: int = 0,
    n_artists: int = 25,
    group_share: float = 0.7,
    tracks: bool = False,
    audio: bool = False,
    genres: bool = False,
) -> tuple[list[TasteProfile], np.ndarray]:
    """``n`` members in ``groups`` planted groups; returns (profiles, group of each member)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % groups
    profiles = [
        _member(i, int(labels[i]), rng, n_artists, group_share, tracks, audio, genres) for i in range(n)
    ]
    return profiles, labels


def _zipf_pick(rng: np.random.Generator, pool: int, count: int) -> np.ndarray:
    p = 1.0 / np.arange(1, pool + 1)
    return rng.choice(pool, size=min(count, pool), replace=False, p=p / p.sum())


def _member(
    i: int,
    group: int,
    rng: np.random.Generator,
    n_artists: int,
    group_share: float,
    tracks: bool,
    audio: bool,
    genres: bool,
) -> TasteProfile:
    own = round(n_artists * group_share)
    chosen = [(group, int(k)) for k in _zipf_pick(rng, GROUP_POOL, own)]
    chosen += [(None, int(k)) for k in _zipf_pick(rng, GLOBAL_POOL, n_artists - own)]
    rng.shuffle(chosen)
    artists = tuple(
        RankedArtist(
            id=artist_id(g, k),
            rank=r,
            name=f"Artist {artist_id(g, k)}",
            genres=(f"genre{g}",) if genres and g is not None else (("pop",) if genres else ()),
        )
        for r, (g, k) in enumerate(chosen, start=1)
    )
    track_list = _tracks(chosen, group, rng, audio) if tracks else ()
    return TasteProfile(user_id=1000 + i, artists=artists, tracks=track_list, guild_ids=(1,))


def _tracks(
    chosen: list[tuple[int | None, int]], group: int, rng: np.random.Generator, audio: bool
) -> tuple[RankedTrack, ...]:
    out = []
    for r, (g, k) in enumerate(chosen[:15], start=1):
        aid = artist_id(g, k)
        tid = f"{aid}t{int(rng.integers(TRACKS_PER_ARTIST))}"
        features = _features(group, rng) if audio else None
        out.append(
            RankedTrack(id=tid, rank=r, name=f"Track {tid}", artist_ids=(aid,), audio_features=features)
        )
    return tuple(out)


def _features(group: int, rng: np.random.Generator) -> dict[str, float]:
    base = (group % 4) / 4
    return {
        "acousticness": float(np.clip(base + rng.normal(0, 0.1), 0, 1)),
        "instrumentalness": float(np.clip(0.3 + rng.normal(0, 0.1), 0, 1)),
        "danceability": float(np.clip(1 - base + rng.normal(0, 0.1), 0, 1)),
        "energy": float(np.clip(0.5 + rng.normal(0, 0.1), 0, 1)),
        "loudness": float(np.clip(-30 * base - 5 + rng.normal(0, 2), -60, 0)),
        "tempo": float(100 + 40 * base + rng.normal(0, 5)),
    }
