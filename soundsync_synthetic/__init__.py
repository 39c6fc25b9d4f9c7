"""Synthetic communities with planted taste groups, for demos, benchmarks and tests.

The generator imitates real listening: a Zipf-popular catalogue with pop stars everyone hears,
genre neighbourhoods with their own artists (real, well-known ones at the head of
each genre, from `data/artists.tsv`), members with 1–3 tastes, noisy ranks from sampled
listens, and optional fields (playcounts, genres, audio features, tracks) present only for
some members — see :func:`generate_community`.
"""

from __future__ import annotations

from soundsync_synthetic._community import (
    MAIN_TASTE_SHARE,
    SPOTIFY_TOP_LIMIT,
    SyntheticCommunity,
    artist_id,
    generate_community,
    track_id,
)
from soundsync_synthetic._jsonl import jsonl_lines, profile_record, write_jsonl
from soundsync_synthetic._listening import ListeningModel

__all__ = [
    "MAIN_TASTE_SHARE",
    "SPOTIFY_TOP_LIMIT",
    "ListeningModel",
    "SyntheticCommunity",
    "artist_id",
    "generate_community",
    "jsonl_lines",
    "profile_record",
    "track_id",
    "write_jsonl",
]
