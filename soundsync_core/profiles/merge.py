"""Merge one member's profiles from several sources into one ranked profile."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

Item = TypeVar("Item", RankedArtist, RankedTrack)

# Reciprocal-rank fusion constant: 60 is the value of Cormack et al. (2009); it keeps one
# source's #1 from drowning another source's top ten.
RRF_K = 60


def _fuse(
    lists: Sequence[Sequence[Item]], rerank: Callable[[Item, int, int | None], Item]
) -> tuple:
    if len(lists) == 1:
        return tuple(lists[0])
    score: dict[str, float] = {}
    first: dict[str, Item] = {}
    for items in lists:
        for item in items:
            score[item.id] = score.get(item.id, 0.0) + 1.0 / (RRF_K + item.rank)
            first.setdefault(item.id, item)
    ordered = sorted(score, key=lambda item_id: (-score[item_id], item_id))
    # Play counts from different services are not on one scale: a fused list drops them.
    return tuple(rerank(first[item_id], rank, None) for rank, item_id in enumerate(ordered, 1))


def merge_profiles(profiles: Sequence[TasteProfile]) -> TasteProfile:
    """One profile from several sources of the same member (rank fusion; order-independent)."""
    if not profiles:
        raise ValueError("nothing to merge")
    if len(profiles) == 1:
        return profiles[0]
    ordered = sorted(profiles, key=lambda p: p.sources)
    base = ordered[0]
    artists = _fuse(
        [p.artists for p in ordered],
        lambda a, rank, count: RankedArtist(a.id, rank, a.name, count, a.genres),
    )
    tracks = _fuse(
        [p.tracks for p in ordered if p.tracks],
        lambda t, rank, count: RankedTrack(
            t.id, rank, t.name, t.artist_ids, count, t.audio_features
        ),
    ) if any(p.tracks for p in ordered) else ()
    return TasteProfile(
        user_id=base.user_id,
        artists=artists,
        tracks=tracks,
        display_name=next((p.display_name for p in ordered if p.display_name), ""),
        guild_ids=tuple(sorted({g for p in ordered for g in p.guild_ids})),
        sources=tuple(sorted({s for p in ordered for s in p.sources})),
    )
