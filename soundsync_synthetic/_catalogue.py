"""The synthetic music catalogue: artists, tracks, genres and audio features.

Artists ``[0, n_pop)`` are the pop stars every taste group listens to; group ``g`` owns the
block ``[n_pop + g * per_group, n_pop + (g + 1) * per_group)``. Within each block artists are
ordered by popularity, so a Zipf law over the position is the popularity law.

Names come from a curated list of real artists (``data/artists.tsv``): the head of the pop
block is real pop stars, group ``g`` is the ``g``-th genre of the list and the head of its block
is that genre's real artists (groups beyond the list's genres share a genre and split its
artists). The long tail, which no list of a few hundred names can fill, keeps invented names.
Real artists carry only their listed genre; the invented ones get the group's sub-genres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundsync_core.taste.profile import AUDIO_FEATURES
from soundsync_synthetic._artists import POP, curated_artists, scene_genres

_SYLLABLES = (
    "ka", "lo", "mi", "ra", "ve", "so", "tu", "ni", "da", "ze", "ph", "or", "el", "an", "qu",
    "by", "xo", "li", "mo", "sa", "te", "va", "ru", "ci", "no", "ly", "fa", "go", "hu", "je",
)  # fmt: skip
_GENRE_MODIFIERS = (
    "indie", "dark", "alt", "nu", "lo-fi", "deep", "neo", "post", "dream", "hyper", "uk",
    "french", "latin", "minimal", "acoustic", "melodic", "experimental", "progressive",
    "psychedelic", "chill", "hard", "modern", "classic", "underground",
)  # fmt: skip
_POP_GENRES = ("pop", "dance pop", "global pop", "viral pop")

# Per feature: (low, high) of the plausible range, spread of group centres is the whole range.
# Loudness is in dB and tempo in BPM, as the providers report them.
_FEATURE_RANGE: dict[str, tuple[float, float]] = {
    "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0),
    "danceability": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "loudness": (-60.0, 0.0),
    "valence": (0.0, 1.0),
    "tempo": (40.0, 220.0),
    "speechiness": (0.0, 1.0),
    "liveness": (0.0, 1.0),
}
# Where group centres may fall (narrower than the valid range: real music is rarely at -50 dB).
_CENTRE_RANGE: dict[str, tuple[float, float]] = {
    **{name: (0.05, 0.95) for name in AUDIO_FEATURES},
    "loudness": (-18.0, -4.0),
    "tempo": (75.0, 175.0),
    "speechiness": (0.03, 0.5),
    "liveness": (0.05, 0.4),
}
_POP_CENTRE = {"acousticness": 0.2, "instrumentalness": 0.02, "danceability": 0.72,
               "energy": 0.7, "loudness": -5.5, "valence": 0.6, "tempo": 118.0,
               "speechiness": 0.08, "liveness": 0.15}  # fmt: skip


@dataclass(frozen=True)
class Catalogue:
    """Every artist and track of a synthetic world, as parallel arrays and lists."""

    n_pop: int
    per_group: int
    tracks_per_artist: int
    artist_names: list[str]
    track_titles: list[str]
    artist_genres: list[tuple[str, ...]]
    group_genres: list[tuple[str, ...]]
    track_features: np.ndarray  # (n_tracks, len(AUDIO_FEATURES)), NaN-free
    track_known: np.ndarray  # bool per track: does the feature provider know it?

    @property
    def n_artists(self) -> int:
        """How many artists, pop stars included."""
        return len(self.artist_names)

    def group_of_artist(self) -> np.ndarray:
        """Taste group of every artist; -1 for the shared pop stars."""
        idx = np.arange(self.n_artists)
        return np.where(idx < self.n_pop, -1, (idx - self.n_pop) // self.per_group)


def zipf_cdf(size: int, exponent: float) -> np.ndarray:
    """Cumulative Zipf law over ``size`` ranked items (for inverse-CDF sampling)."""
    weights = 1.0 / np.arange(1, size + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def build_catalogue(
    rng: np.random.Generator,
    n_groups: int,
    *,
    n_pop: int,
    per_group: int,
    tracks_per_artist: int,
    genre_fraction: float,
    feature_coverage: float,
) -> Catalogue:
    """Draw names, genres and per-track audio features for ``n_groups`` genre neighbourhoods."""
    n_artists = n_pop + n_groups * per_group
    group_genres = _group_genres(rng, n_groups)
    real = _real_artists(n_pop, per_group, group_genres)
    # Draws in the same order as ever: the same seed gives the same listening as before names
    # were real (benchmarks stay comparable).
    names = _names(rng, n_artists)
    titles = _titles(rng, n_artists * tracks_per_artist)
    genres = _artist_genres(rng, n_pop, per_group, group_genres, genre_fraction)
    for index, (name, _) in real.items():
        names[index] = name
    return Catalogue(
        n_pop=n_pop,
        per_group=per_group,
        tracks_per_artist=tracks_per_artist,
        artist_names=_unique(names),
        track_titles=titles,
        # The list's genre is a fact about a real artist; a drawn sub-genre would not be.
        artist_genres=[(real[i][1],) if i in real and g else g for i, g in enumerate(genres)],
        group_genres=group_genres,
        track_features=_track_features(rng, n_groups, n_pop, per_group, tracks_per_artist),
        track_known=rng.random(n_artists * tracks_per_artist) < feature_coverage,
    )


def _names(rng: np.random.Generator, count: int) -> list[str]:
    syllables = np.asarray(_SYLLABLES)
    parts = syllables[rng.integers(0, len(syllables), size=(count, 5))]
    first = np.char.add(parts[:, 0], parts[:, 1])
    second = np.char.add(np.char.add(parts[:, 2], parts[:, 3]), parts[:, 4])
    names = np.char.add(np.char.add(np.char.capitalize(first), " "), np.char.capitalize(second))
    return names.tolist()


def _unique(names: list[str]) -> list[str]:
    """The names, a rare repeat of random syllables told apart as "… II", "… III" …"""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {_roman(seen[name])}")
    return out


def _roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, numeral in numerals:
        count, number = divmod(number, value)
        out += numeral * count
    return out


def _real_artists(
    n_pop: int, per_group: int, group_genres: list[tuple[str, ...]]
) -> dict[int, tuple[str, str]]:
    """Catalogue index → (real name, genre) for the head of the pop block and of every group."""
    curated = curated_artists()
    real = {i: (name, POP) for i, name in enumerate(curated[POP][:n_pop])}
    bases = [genres[0] for genres in group_genres]
    for group, base in enumerate(bases):
        # Groups that share a genre (more groups than genres) deal its artists out in turn.
        scenes = [g for g, b in enumerate(bases) if b == base]
        names = curated[base][scenes.index(group) :: len(scenes)][:per_group]
        start = n_pop + group * per_group
        real.update({start + i: (name, base) for i, name in enumerate(names)})
    return real


def _titles(rng: np.random.Generator, count: int) -> list[str]:
    syllables = np.asarray(_SYLLABLES)
    parts = syllables[rng.integers(0, len(syllables), size=(count, 3))]
    words = np.char.add(np.char.add(parts[:, 0], parts[:, 1]), parts[:, 2])
    return np.char.capitalize(words).tolist()


def _group_genres(rng: np.random.Generator, n_groups: int) -> list[tuple[str, ...]]:
    genres = []
    bases = scene_genres()
    for g in range(n_groups):
        base = bases[g % len(bases)]
        modifiers = rng.choice(len(_GENRE_MODIFIERS), size=2, replace=False)
        genres.append((base, *(f"{_GENRE_MODIFIERS[m]} {base}" for m in modifiers)))
    return genres


def _artist_genres(
    rng: np.random.Generator,
    n_pop: int,
    per_group: int,
    group_genres: list[tuple[str, ...]],
    fraction: float,
) -> list[tuple[str, ...]]:
    pools = [_POP_GENRES] * n_pop + [g for g in group_genres for _ in range(per_group)]
    has = rng.random(len(pools)) < fraction
    counts = rng.integers(1, 3, size=len(pools), endpoint=True)
    picks = rng.random((len(pools), len(_POP_GENRES)))
    out: list[tuple[str, ...]] = []
    for pool, keep, count, order in zip(pools, has, counts, picks, strict=True):
        if not keep:
            out.append(())
            continue
        chosen = np.argsort(order[: len(pool)])[: min(count, len(pool))]
        out.append(tuple(pool[i] for i in sorted(chosen)))
    return out


def _track_features(
    rng: np.random.Generator, n_groups: int, n_pop: int, per_group: int, tracks_per_artist: int
) -> np.ndarray:
    low = np.array([_CENTRE_RANGE[f][0] for f in AUDIO_FEATURES])
    high = np.array([_CENTRE_RANGE[f][1] for f in AUDIO_FEATURES])
    span = np.array([_FEATURE_RANGE[f][1] - _FEATURE_RANGE[f][0] for f in AUDIO_FEATURES])
    span[AUDIO_FEATURES.index("loudness")] = 30.0  # a dB step is smaller than the full 60 dB
    centres = np.vstack(
        [
            np.array([_POP_CENTRE[f] for f in AUDIO_FEATURES]),
            low + (high - low) * rng.random((n_groups, len(AUDIO_FEATURES))),
        ]
    )
    artist_group = np.concatenate(
        [np.zeros(n_pop, dtype=np.int64), 1 + np.repeat(np.arange(n_groups), per_group)]
    )
    artist_noise = rng.normal(0, 0.08, (len(artist_group), len(span))) * span
    artist_centre = centres[artist_group] + artist_noise
    track_centre = np.repeat(artist_centre, tracks_per_artist, axis=0)
    features = track_centre + rng.normal(0, 0.06, track_centre.shape) * span
    valid_low = np.array([_FEATURE_RANGE[f][0] for f in AUDIO_FEATURES])
    valid_high = np.array([_FEATURE_RANGE[f][1] for f in AUDIO_FEATURES])
    # Three decimals, as the providers report them, so JSONL round trips are exact.
    return np.round(np.clip(features, valid_low, valid_high), 3)
