"""The curated list of real artists that names the synthetic catalogue (``data/artists.tsv``)."""

from __future__ import annotations

import functools
from importlib import resources

POP = "pop"
_FILE = "data/artists.tsv"


@functools.cache
def curated_artists() -> dict[str, tuple[str, ...]]:
    """Genre → its artists, most popular first, in the file's order (``pop`` first)."""
    text = resources.files("soundsync_synthetic").joinpath(_FILE).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    genres: dict[str, list[str]] = {}
    for number, line in enumerate(lines[1:], 2):  # the first line is the header
        genre, sep, artist = line.partition("\t")
        if not sep or not genre or not artist:
            raise ValueError(f"{_FILE}: line {number} is not 'genre<TAB>artist': {line!r}")
        genres.setdefault(genre, []).append(artist)
    return {genre: tuple(artists) for genre, artists in genres.items()}


def scene_genres() -> tuple[str, ...]:
    """The genres that become taste groups, in order (every genre but the shared pop)."""
    return tuple(genre for genre in curated_artists() if genre != POP)
